/**
 * Messages between the node (driver) and an isolate host child process. They travel over the
 * Node IPC channel with `serialization: 'advanced'` (structured clone), so request and response
 * bodies cross as Uint8Array without base64.
 */
import type { InvokeInput, InvokeOutput, ProcSpec, ValidateOutput } from '../types.js';

/** What a host needs to create procs for one version; sent with the first call it sees. */
export type LoadSpec = Omit<ProcSpec, 'timeoutMs'>;

export interface CallSpec {
  activationId: string;
  timeoutMs: number;
  logLimitBytes: number;
  maxResponseBytes: number;
}

export type ToHost =
  | { t: 'invoke'; id: number; key: string; load?: LoadSpec; input: InvokeInput; call: CallSpec }
  | { t: 'validate'; id: number; load: LoadSpec; timeoutMs: number }
  /** Retire every pool whose key starts with `prefix` (a version key, or `ns/fn@` for all versions). */
  | { t: 'retire'; prefix: string };

export type FromHost =
  | { t: 'ready'; snapshotMs: number }
  | { t: 'invoked'; id: number; out: InvokeOutput }
  | { t: 'validated'; id: number; out: ValidateOutput };

export interface HostOptions {
  /** Idle procs are disposed after this long. (ms) */
  keepAliveMs: number;
  /** Procs per version a host creates before calls wait for one to be free. */
  maxProcsPerVersion: number;
}
