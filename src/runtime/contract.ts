/**
 * The contract between the isolate host (src/sandbox/isolate) and the prelude: the shapes that
 * cross the isolate boundary. Types only, so the host may `import type` them too. Everything that
 * crosses is copied by isolated-vm, so values here are plain data (objects, arrays, strings,
 * numbers, Uint8Array), never class instances.
 *
 * Several calls may be in flight in one isolate at once (a function's `concurrency`). The host
 * numbers them (`CallOptions.callId`) and names the call in `pull`, `settle` and `end`. A call is
 * in flight from its dispatch until the host ends it; a call whose dispatch returns without a
 * streamed body or pending waitUntil work ends by itself.
 *
 * Attribution (calls.ts): the isolate cannot tell which call code that runs after an `await`
 * continues. Console lines are tagged with the call whose handler is in its synchronous part,
 * otherwise with the oldest call in flight (0 when none is). Host operations (`HostCallRef`)
 * carry a token: a call id when the call is known exactly (its handler's synchronous part, a
 * per-call `env` binding, or the only call in flight), else 0, "whichever calls are in flight".
 */
import type { WireError } from '../errors.js';
import type { HandlerStyle, HttpResponseData, InvokeInput, LogLine } from '../sandbox/types.js';
import type { HostCallRef } from './bridge.js';

export type LogLevel = LogLine['level'];

/**
 * The host's log sink, an isolated-vm Callback: fire-and-forget, one console line per call of it.
 * `callId` is the call the line is charged to (see the header), 0 for output outside calls.
 */
export type HostLog = (level: LogLevel, msg: string, callId: number) => void;

export interface InitOptions {
  /** Budget for console output outside a call (module top level). @default 65_536 (bytes) */
  logLimitBytes?: number;
  /** The function's memory limit, which WebAssembly memories count against. @default none (bytes) */
  memoryLimitBytes?: number;
}

/** What the isolate holds outside what the host can measure itself (wasm-memory.ts). */
export interface MemoryReport {
  /** WebAssembly memories reachable from the isolate. (bytes) */
  wasmBytes: number;
  /** A wasm memory was refused for going past the limit (the code may have caught the error). */
  exceeded: boolean;
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
  /** A process class (and, for a live instance, its name): docs/processes.md. */
  process?: { className: string; instance?: string };
}

export type DispatchInput = InvokeInput;

export interface CallOptions {
  /** The host's number for this call, a positive integer not used by another call in flight. */
  callId: number;
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

export type DispatchResult = (
  | {
      ok: true;
      result: { type: 'fetch'; response: DispatchedResponse } | { type: 'event'; value: unknown };
      /** Set when promises passed to `ctx.waitUntil` are still pending: the host should `settle`. */
      waitUntil?: true;
    }
  | { ok: false; error: WireError }
) & {
  /**
   * Set once the isolate holds WebAssembly memory: the host then reads the heap and adds this
   * to it. Absent, the host skips that read (V8 bounds the heap and isolated-vm's allocator the
   * ArrayBuffers by themselves), which keeps two isolate crossings off every warm call.
   */
  memory?: MemoryReport;
};

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
   * Runs one call; calls may overlap, each with its own `callId`, log budget, streamed body and
   * waitUntil set. Never rejects: failures come back as `{ ok: false, error }` (a callId that is
   * missing or already in flight is PROCYON_INTERNAL). A result with `stream: true` or
   * `waitUntil: true` keeps the call in flight until `end`; any other result ends it.
   */
  dispatch(input: DispatchInput, call: CallOptions): Promise<DispatchResult>;
  /**
   * The next chunk of call `callId`'s streamed body: at most `maxBytes`, as much as the stream
   * has ready (it waits only for the first chunk); null at the end, and when there is no stream
   * (or no such call).
   * A stream that errors, or yields a chunk that is not a Uint8Array, gives
   * `{ ok: false, error: PROCYON_FUNCTION_ERROR }` (after a last chunk with the bytes read before
   * the failure, if any) and the stream is over. A maxBytes that is not a positive integer is
   * PROCYON_INTERNAL. Never rejects.
   */
  pull(callId: number, maxBytes: number): Promise<PullResult>;
  /**
   * Called once the host has stopped pulling: cancels call `callId`'s streamed body if it was not
   * read to its end, then resolves once every promise passed to `ctx.waitUntil` in that call has
   * settled, including ones added while waiting; rejections are logged at level error, never
   * thrown. `timeoutMs` bounds the wait once the isolate has timers (a global setTimeout); without
   * them the host's own call timeout is the bound. The call stays in flight until `end`. Never
   * rejects.
   */
  settle(callId: number, timeoutMs?: number): Promise<SettleResult>;
  /**
   * Ends call `callId`: cancels its streamed body if still open and forgets its waitUntil set (the
   * promises run on, unwatched). The host calls it once per call that had a tail, after `settle`
   * or instead of it. Unknown ids are ignored.
   */
  end(callId: number): void;
  /** WebAssembly memory held now; the host adds it to the heap it measures (wasm-memory.ts). */
  memory(): MemoryReport;
}
