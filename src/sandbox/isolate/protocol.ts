/**
 * Messages between the node (driver) and an isolate host child process, framed by wire.ts on a
 * dedicated pipe. A call is `invoke` → `invoked` (the response, or the error) and, when the call
 * has a tail (a streamed body or `ctx.waitUntil` work), `pull` ↔ `chunk` for the body and a final
 * `finished` with the rest of its logs and CPU time. `rpc` goes the other way: the host asks the
 * node for what only the node has (KV, other functions).
 */
import type { BridgeReply, NodeOpName } from '../ops/index.js';
import type { InvokeInput, InvokeOutput, LogLine, ProcSpec, ValidateOutput } from '../types.js';
import type { WireError } from '../../errors.js';
import type { MemoryKillReason } from './memory-watch.js';

/** What a host needs to create procs for one version; sent with the first call it sees. */
export type LoadSpec = Omit<ProcSpec, 'timeoutMs'>;

export interface CallSpec {
  activationId: string;
  timeoutMs: number;
  logLimitBytes: number;
  maxResponseBytes: number;
}

/** What the tail of a call adds to its activation. */
export interface TailMeta {
  cpuMs: number;
  logs: LogLine[];
  logsTruncated: boolean;
  /** A stream that failed or a tail that ran past the timeout. */
  error?: WireError;
  /** The proc was disposed (it hit a limit): the node forgets it. */
  procGone?: boolean;
}

/**
 * Procs are numbered by the node's scheduler, which decides which proc serves each call and when
 * procs are made and disposed. A host keeps each version's code (`load`, sent once per host) until
 * told to `forget` it with the version's last proc there.
 */
export type ToHost =
  /** Run a call on proc `proc`, creating the proc first if the host does not have it (cold). */
  | {
      t: 'invoke';
      id: number;
      proc: number;
      key: string;
      load?: LoadSpec;
      input: InvokeInput;
      call: CallSpec;
    }
  /** Create proc `proc` ahead of demand; answered by `spawned`. */
  | { t: 'spawn'; id: number; proc: number; key: string; load?: LoadSpec }
  | { t: 'evict'; proc: number; forget?: string }
  | { t: 'validate'; id: number; load: LoadSpec; timeoutMs: number }
  /** Send the next chunk of call `id`'s streamed body. */
  | { t: 'pull'; id: number; maxBytes: number }
  /** The client went away: stop call `id`'s stream. */
  | { t: 'cancel'; id: number }
  | { t: 'rpc-result'; id: number; reply: BridgeReply };

export type FromHost =
  | { t: 'ready'; snapshotMs: number }
  /** `tail`: a `finished` (and, for a stream, chunks) will follow. */
  | { t: 'invoked'; id: number; out: InvokeOutput; tail: boolean; procGone?: boolean }
  | { t: 'validated' | 'spawned'; id: number; out: ValidateOutput }
  /** Every few seconds: the host's memory, for the node's memory budget and metrics. */
  | ({ t: 'stats' } & HostStats)
  /**
   * `data: null` ends the stream; with `error` it ended because the function's stream failed or
   * its call timed out, so the node must not end the response as if the body were complete.
   */
  | { t: 'chunk'; id: number; data: Uint8Array | null; error?: WireError }
  | { t: 'finished'; id: number; meta: TailMeta }
  | { t: 'rpc'; id: number; key: string; activationId: string; op: NodeOpName; args: unknown[] };

export interface HostStats {
  /** The host process's resident memory. (bytes) */
  rss: number;
  /** `[procId, bytes]`: each proc's heap plus external memory. */
  procs: [number, number][];
  /** ArrayBuffers and WebAssembly memories of all its procs. (bytes) */
  externalBytes: number;
  /** Procs disposed for going past their memory limit since the previous report, by reason. */
  memoryKills: Partial<Record<MemoryKillReason, number>>;
}

export interface HostOptions {
  /** Stem-cell isolates kept ready per memory size (0: none, every cold start makes its isolate). */
  stemCells: number;
  /** Functions' default memory size, stocked with stem cells from the start. (MB) */
  defaultMemoryMb: number;
  /**
   * `host:port` patterns no function's `fetch` may reach, whatever its allow list says: the node's
   * own services (NATS, PostgreSQL). Pattern syntax: src/sandbox/egress/policy.ts.
   */
  denyEgress: string[];
  /** One `fetch` (redirects included) times out after this long, or at the call's deadline. (ms) */
  fetchTimeoutMs: number;
  /** Largest response body one `fetch` may read. (bytes) */
  fetchMaxResponseBytes: number;
}
