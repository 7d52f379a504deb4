/**
 * The messages between the node (pool.ts) and a build worker thread (worker.ts): one job out, one
 * reply back. Typed once here so that both sides change together.
 */
import type { TypecheckResult } from './typecheck.js';

export interface BuildJob {
  id: number;
  /** The uploaded source, already bundled once (so it imports nothing). */
  code: string;
  /** The name the user gave it, a TypeScript one: labels errors; never opened as a path. */
  filename: string;
}

/** What a worker sends: `ready` once, when it has warmed up, then one reply per job. */
export type FromWorker = { ready: true } | BuildReply;

export type BuildReply =
  /** The check ran: no error, or the first type error. */
  | { id: number; result: TypecheckResult }
  /** The compiler overflowed its stack (a type or expression nested thousands deep). */
  | { id: number; failure: 'stack' }
  /** Anything else the worker did not expect: a platform bug. */
  | { id: number; failure: 'internal'; message: string };
