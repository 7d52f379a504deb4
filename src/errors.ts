/**
 * One error type for the whole platform. Every failure a user can see carries a stable `code`
 * (catalogued in docs/errors.md), the HTTP status it maps to, and whether it is the caller's
 * fault (`user`) or ours. Errors that cross the isolate-host IPC boundary travel as
 * `{ code, message }` and are rebuilt with `ProcyonError.fromWire`.
 */

export const ErrorCodes = {
  PROCYON_BAD_REQUEST: 400,
  PROCYON_VALIDATION: 400,
  PROCYON_CONFIG_INVALID: 400,
  PROCYON_BUILD_FAILED: 400,
  PROCYON_BUILD_BUDGET: 400,
  PROCYON_UNAUTHORIZED: 401,
  PROCYON_FORBIDDEN: 403,
  PROCYON_NOT_FOUND: 404,
  PROCYON_FN_NOT_FOUND: 404,
  PROCYON_ROUTE_NOT_FOUND: 404,
  PROCYON_ACTIVATION_NOT_FOUND: 404,
  PROCYON_NAMESPACE_NOT_FOUND: 404,
  PROCYON_PROC_NOT_FOUND: 404,
  PROCYON_METHOD_NOT_ALLOWED: 405,
  PROCYON_REQUEST_TIMEOUT: 408,
  PROCYON_CONFLICT: 409,
  PROCYON_DATA_DIR_LOCKED: 409,
  PROCYON_PAYLOAD_TOO_LARGE: 413,
  PROCYON_RESPONSE_TOO_LARGE: 413,
  PROCYON_STORAGE_LIMIT: 413,
  PROCYON_UNSUPPORTED_MEDIA_TYPE: 415,
  PROCYON_TOO_MANY_REQUESTS: 429,
  PROCYON_TOO_MANY_CONNECTIONS: 429,
  PROCYON_MAILBOX_FULL: 429,
  PROCYON_HEADERS_TOO_LARGE: 431,
  PROCYON_FUNCTION_ERROR: 500,
  PROCYON_MEMORY_LIMIT: 500,
  PROCYON_INTERNAL: 500,
  PROCYON_BAD_RESPONSE: 502,
  PROCYON_INIT_FAILED: 502,
  PROCYON_HOST_CRASHED: 502,
  PROCYON_SHUTTING_DOWN: 503,
  PROCYON_SANDBOX_UNAVAILABLE: 503,
  PROCYON_PROC_LOST: 503,
  PROCYON_STORAGE_UNAVAILABLE: 503,
  PROCYON_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ErrorCodes, code);
}

export interface WireError {
  code: ErrorCode;
  message: string;
  stack?: string;
}

export class ProcyonError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Structured facts a client can act on, e.g. `{ file, line, column }` of a build error. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = 'ProcyonError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = options?.details;
  }

  /** Caller mistakes (4xx) versus platform or function faults (5xx). */
  get user(): boolean {
    return this.status < 500;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  static fromWire(wire: WireError): ProcyonError {
    return new ProcyonError(isErrorCode(wire.code) ? wire.code : 'PROCYON_INTERNAL', wire.message);
  }
}
