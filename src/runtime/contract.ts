/**
 * The contract between the isolate host (src/sandbox/isolate) and the prelude: the shapes that
 * cross the isolate boundary. Types only, so the host may `import type` them too. Everything that
 * crosses is copied by isolated-vm, so values here are plain data (objects, arrays, strings,
 * numbers, Uint8Array), never class instances.
 */
import type { WireError } from '../errors.js';
import type { HandlerStyle, HttpResponseData, InvokeInput, LogLine } from '../sandbox/types.js';
import type { HostCallRef } from './bridge.js';

export type LogLevel = LogLine['level'];

/** The host's log sink, an isolated-vm Callback: fire-and-forget, one console line per call. */
export type HostLog = (level: LogLevel, msg: string) => void;

export interface InitOptions {
  /** Budget for console output outside a call (module top level). @default 65_536 (bytes) */
  logLimitBytes?: number;
}

export interface BindMeta {
  namespace: string;
  fn: string;
  version: string;
  /** Isolate heap limit, reported to Lambda-style handlers as `memoryLimitInMB`. (MB) */
  memoryMb: number;
  /** Plain string bindings; a frozen copy is the fetch handler's `env`. */
  vars: Record<string, string>;
  /** Decrypted secrets, strings on `env` like vars. */
  secrets?: Record<string, string>;
  /** Names of KV and service bindings to put on `env`. */
  bindings?: { kv: string[]; services: string[] };
}

export type DispatchInput = InvokeInput;

export interface CallOptions {
  activationId: string;
  /** When the host gives up on the call. (epoch ms) */
  deadline: number;
  /** Console output budget of this call; the line that would pass it becomes a marker. (bytes) */
  logLimitBytes: number;
  /** Largest response body (fetch) or JSON result (event) the call may return. (bytes) */
  maxResponseBytes: number;
}

/**
 * A fetch handler's response. A body of known bytes (string, buffer, Blob, FormData,
 * URLSearchParams, or an untouched stream made from those) comes whole, within maxResponseBytes.
 * A body that is a real ReadableStream comes as `body: null, stream: true`: the host then calls
 * `pull` until it returns null (no size limit is applied in the isolate to a streamed body).
 */
export type DispatchedResponse = Omit<HttpResponseData, 'body' | 'stream'> &
  ({ body: Uint8Array; stream?: undefined } | { body: null; stream: true });

export type DispatchResult =
  | {
      ok: true;
      result: { type: 'fetch'; response: DispatchedResponse } | { type: 'event'; value: unknown };
      /** Set when promises passed to `ctx.waitUntil` are still pending: the host should `settle`. */
      waitUntil?: true;
    }
  | { ok: false; error: WireError };

/** One chunk of a streamed body (1 to maxBytes bytes), or null at its end. */
export type PullResult = { ok: true; value: Uint8Array | null } | { ok: false; error: WireError };

export interface SettleResult {
  /** waitUntil promises still pending: 0, unless the timeout passed first. */
  pending: number;
}

/** `globalThis.__procyon`: the host takes a reference to it and deletes the global. */
export interface ProcyonRuntime {
  /** Once per isolate, before user code runs; `call` is the host's bridge (bridge.ts). */
  init(log: HostLog, options?: InitOptions, call?: HostCallRef): void;
  /** Once, after the user module evaluated: detects the handler style or throws a TypeError. */
  bind(namespace: Record<string, unknown>, meta: BindMeta): HandlerStyle;
  /**
   * One call at a time; never rejects: failures come back as `{ ok: false, error }`. Starting a
   * call ends the previous one: its stream, if the host stopped pulling, is cancelled, and its
   * waitUntil promises are no longer waited for.
   */
  dispatch(input: DispatchInput, call: CallOptions): Promise<DispatchResult>;
  /**
   * The next chunk of the current call's streamed body: at most `maxBytes`, as much as the stream
   * has ready (it waits only for the first chunk); null at the end, and when there is no stream.
   * A stream that errors, or yields a chunk that is not a Uint8Array, gives
   * `{ ok: false, error: PROCYON_FUNCTION_ERROR }` (after a last chunk with the bytes read before
   * the failure, if any) and the stream is over. A maxBytes that is not a positive integer is
   * PROCYON_INTERNAL. Never rejects.
   */
  pull(maxBytes: number): Promise<PullResult>;
  /**
   * Resolves once every promise passed to `ctx.waitUntil` in the current call has settled,
   * including ones added while waiting; rejections are logged at level error, never thrown.
   * `timeoutMs` bounds the wait once the isolate has timers (a global setTimeout); without them
   * the host's own call timeout is the bound. Never rejects.
   */
  settle(timeoutMs?: number): Promise<SettleResult>;
}
