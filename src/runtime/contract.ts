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

export type DispatchResult =
  | { ok: true; result: { type: 'fetch'; response: HttpResponseData } | { type: 'event'; value: unknown } }
  | { ok: false; error: WireError };

/** `globalThis.__procyon`: the host takes a reference to it and deletes the global. */
export interface ProcyonRuntime {
  /** Once per isolate, before user code runs; `call` is the host's bridge (bridge.ts). */
  init(log: HostLog, options?: InitOptions, call?: HostCallRef): void;
  /** Once, after the user module evaluated: detects the handler style or throws a TypeError. */
  bind(namespace: Record<string, unknown>, meta: BindMeta): HandlerStyle;
  /** One call at a time; never rejects: failures come back as `{ ok: false, error }`. */
  dispatch(input: DispatchInput, call: CallOptions): Promise<DispatchResult>;
}
