/**
 * HTTP to the control API, and the translation of every way that can fail into one `CliError`:
 * the node's `{ error: { code, message } }`, a refused connection, a missing or wrong key.
 * Uses Node's global `fetch`; no retries (the user re-runs the command).
 */
import type { Target } from './config.js';
import { CliError } from './errors.js';

const START_HINT = 'is the node running? start one with npm start';

export interface ClientOptions {
  /** Injected for tests that count requests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  body?: unknown;
  /** Bytes sent as application/octet-stream (instead of `body` as JSON). */
  raw?: Uint8Array;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

export class ApiClient {
  readonly url: string;
  readonly #target: Target;
  readonly #fetch: typeof fetch;

  constructor(target: Target, options: ClientOptions = {}) {
    this.#target = target;
    this.url = target.url;
    this.#fetch = options.fetch ?? fetch;
  }

  /** A JSON request; throws `CliError` for anything but a 2xx with a JSON body. */
  async json<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ status: number; data: T }> {
    const res = await this.request(method, path, options);
    const text = await res.text();
    try {
      return { status: res.status, data: JSON.parse(text) as T };
    } catch (err) {
      throw new CliError(`unexpected response from ${this.url}${path}: not JSON (HTTP ${res.status})`, {
        cause: err,
      });
    }
  }

  /** Any request; throws `CliError` unless the status is 2xx, and returns the unread response. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#target.key !== undefined) headers.authorization = `Bearer ${this.#target.key}`;
    let body: string | Uint8Array | undefined;
    if (options.raw !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = options.raw;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, body, signal: options.signal ?? null });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new CliError(`cannot reach ${this.url} (${networkCode(err)})`, { hint: START_HINT, cause: err });
    }
    if (res.ok) return res;
    throw await this.#errorFrom(res);
  }

  async #errorFrom(res: Response): Promise<CliError> {
    const text = await res.text().catch(() => '');
    let code: string | undefined;
    let message: string | undefined;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
      if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    } catch {
      // Not the API's error body (a proxy in between, or not a Procyon node): report the status.
    }
    message ??= `HTTP ${res.status} ${res.statusText} from ${this.url}`.trimEnd();
    return new CliError(message, {
      code,
      status: res.status,
      hint: this.#hintFor(res.status, code),
      activationId: res.headers.get('x-procyon-activation-id') ?? undefined,
    });
  }

  #hintFor(status: number, code: string | undefined): string | undefined {
    if (code === 'PROCYON_NAMESPACE_NOT_FOUND') {
      return 'pass -n <namespace>, or create it with an admin key: PUT /api/v1/namespaces/<namespace>';
    }
    if (status === 401) {
      return this.#target.key === undefined
        ? 'no API key found; pass --key, set PROCYON_KEY or run procyon login'
        : `check --key, PROCYON_KEY or procyon login (the key used came from ${this.#target.keySource ?? 'nowhere'})`;
    }
    if (status === 403) return 'the key may belong to another namespace; pass -n <namespace>';
    return undefined;
  }
}

/** `ECONNREFUSED`, `ENOTFOUND`, ...: undici hides the system error under `cause` (or `cause.errors`). */
export function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[]; message?: unknown } })
    .cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Path segment encoding for names and ids. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
