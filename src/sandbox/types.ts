/**
 * The SandboxDriver boundary: how procs are made and called. The invoker speaks only this
 * interface; the isolate driver (isolate hosts running isolated-vm) is the first implementation,
 * the native driver (bubblewrap + Lambda Runtime API) comes later behind the same shape.
 */
import type { WireError } from '../errors.js';
import type { RuntimeSpec, ScalingConfig } from '../store/index.js';

// ProcSpec carries them, so the boundary's users get them here too; the store defines them.
export type { RuntimeSpec, ScalingConfig };

/** An HTTP request or response as plain data, cheap to structured-clone across processes. */
export interface HttpRequestData {
  method: string;
  /** Absolute URL as the client addressed it. */
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

export interface HttpResponseData {
  status: number;
  headers: [string, string][];
  /** The whole body; empty when `stream` is set and the body comes from the call's tail. */
  body: Uint8Array;
  stream?: boolean;
}

/**
 * Which export the module provides: Workers-style `default.fetch`, Lambda-style `handler`, or a
 * process class (a named export constructed once per instance, docs/processes.md).
 */
export type HandlerStyle = 'fetch' | 'handler' | 'process';

/**
 * A process class version (`process.className` set, `instance` absent: deploy-time validation) or
 * one instance of it (`instance` set: the proc of (namespace, class, instance), docs/processes.md).
 */
export interface ProcessSpec {
  /** The module's export that is the class. */
  className: string;
  /** The instance name; its proc key is the class version's key + `#` + this name. */
  instance?: string;
}

/** Everything a driver needs to run one function version. Immutable per version. */
export interface ProcSpec {
  /** `${namespace}/${function}@${version}`: the pool key. */
  key: string;
  namespace: string;
  fn: string;
  version: string;
  /** The bundled ES module. */
  code: string;
  /** Isolate heap limit. @default 128 (MB) */
  memoryMb: number;
  /** Wall-clock limit per call. (ms) */
  timeoutMs: number;
  /** Plain string bindings exposed on `env`. */
  vars: Record<string, string>;
  /** Decrypted secrets, also plain strings on `env`; redacted from the function's logs. */
  secrets: Record<string, string>;
  /** Binding names of KV namespaces and service bindings on `env` (resolved by the node). */
  bindings: { kv: string[]; services: string[] };
  /** Where the function's `fetch` may go beyond the public internet. */
  egress: EgressConfig;
  /** How many procs the scheduler keeps for this version; omitted fields take the node's defaults. */
  scaling: ScalingConfig;
  /** Set for a process class and its instances. */
  process?: ProcessSpec;
  /** Set for a native-driver function: what runs in its OS sandbox (docs/native-driver.md). */
  runtime?: RuntimeSpec;
}

/**
 * A function's egress policy. `allow` lists `host[:port]` patterns (`api.internal`, `*.corp.example`,
 * `10.0.0.0/8`, `[fd00::1]:8443`, `127.0.0.1:9999`) that `fetch` may reach even though they are
 * loopback, private or link-local; everything public is allowed anyway, and the node's own
 * `denyEgress` wins over this list.
 */
export interface EgressConfig {
  allow: string[];
}

/** Who sent a message to a process instance (its `onMessage(from, message)` sees this). */
export type MessageFrom = (
  { type: 'process'; class: string; name: string } | { type: 'function'; fn: string } | { type: 'api' }
) & {
  /** A one-way message's id: the same on every delivery of it (at-least-once, docs/processes.md). */
  messageId?: string;
};

export type InvokeInput =
  | { type: 'fetch'; request: HttpRequestData }
  | { type: 'event'; event: unknown }
  /** To a process instance: `onMessage(from, message)`; `reply`: the sender waits for its return value. */
  | { type: 'message'; from: MessageFrom; message: unknown; reply: boolean }
  /** To a process instance: `alarm()`; `retryCount` is 0 on the first attempt. */
  | { type: 'alarm'; retryCount: number };

export interface LogLine {
  /** ms since epoch */
  ts: number;
  level: 'debug' | 'info' | 'log' | 'warn' | 'error';
  msg: string;
}

export interface InvokeMeta {
  activationId: string;
  /** Whether a new proc had to be created for this call. */
  cold: boolean;
  /** CPU time the proc used during the call. (ms) */
  cpuMs: number;
  logs: LogLine[];
  logsTruncated: boolean;
}

export type InvokeOutput =
  | ({
      ok: true;
      result: { type: 'fetch'; response: HttpResponseData } | { type: 'event'; value: unknown };
    } & InvokeMeta)
  | ({ ok: false; error: WireError } & InvokeMeta);

/** The part of a call that outlives its response: a streamed body and `ctx.waitUntil` work. */
export interface CallTail {
  /** The streamed body, pulled from the proc as the consumer reads; `return()` cancels it. */
  body: AsyncIterable<Uint8Array> | null;
  /** Settles when the call is over, with what its tail adds to the activation. */
  done: Promise<TailResult>;
}

export interface TailResult {
  cpuMs: number;
  logs: LogLine[];
  logsTruncated: boolean;
  error?: WireError;
}

export type DriverOutput = InvokeOutput & { tail?: CallTail };

/** The node's side of bridge `rpc`s: what a proc may ask the node for (KV, service bindings). */
export type RpcHandler = (
  call: { key: string; activationId: string },
  op: string,
  args: unknown[],
) => Promise<unknown>;

export type ValidateOutput = { ok: true; style: HandlerStyle } | { ok: false; error: WireError };

export interface DriverCallOptions {
  activationId: string;
  /** Per-activation log cap. (bytes) */
  logLimitBytes: number;
  /** Largest response body the proc may return. (bytes) */
  maxResponseBytes: number;
  /**
   * Called from another call of the node (a service binding), which holds a proc while it waits:
   * such calls may exceed the pool's size, or a chain through one version would deadlock.
   */
  nested?: boolean;
}

export interface SandboxDriver {
  readonly name: string;
  /** Compile and evaluate a module in a throwaway proc; reports its handler style or the error. */
  validate(spec: ProcSpec): Promise<ValidateOutput>;
  invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<DriverOutput>;
  /** Calls of this version the driver runs at once (maxInstances × concurrency); more would wait. */
  capacity(spec: ProcSpec): number;
  /** Drop warm procs of a version (or of every version of a function when `version` is omitted). */
  retire(namespace: string, fn: string, version?: string): void;
  stats(): DriverStats;
  close(): Promise<void>;
}

export interface DriverStats {
  hosts: number;
  hostRestarts: number;
  /** Calls sent to a sandbox and not yet answered. */
  inFlight: number;
}

/** What an isolate's `fetch` gets back from the host's fetch bridge. */
export interface FetchReply {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array | null;
  /** The final URL, after redirects. */
  url: string;
  redirected: boolean;
}
