/**
 * The CLI's one failure type. `main` prints it as one line, `procyon: CODE: message; hint`, and exits
 * with `exitCode`. `code` is the API's error code when the node sent one.
 */
export class CliError extends Error {
  readonly code: string | undefined;
  readonly hint: string | undefined;
  /** 1 for failures, 2 for usage errors (what commander uses too, after our override). */
  readonly exitCode: number;
  /** HTTP status when the error came from the node. */
  readonly status: number | undefined;
  /** `x-procyon-activation-id` of a failed invoke. */
  readonly activationId: string | undefined;

  constructor(
    message: string,
    options: {
      code?: string;
      hint?: string;
      exitCode?: number;
      status?: number;
      activationId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.status = options.status;
    this.activationId = options.activationId;
  }

  /** The one line printed on stderr, without the `procyon: ` prefix. */
  line(): string {
    const code = this.code ? `${this.code}: ` : '';
    const hint = this.hint ? `; ${this.hint}` : '';
    return `${code}${this.message}${hint}`;
  }
}

/** A mistake in how the command was called: exit code 2, like commander's own usage errors. */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: 2 });
}
