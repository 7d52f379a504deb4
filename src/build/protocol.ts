/**
 * The messages between the node (pool.ts) and a build worker thread (worker.ts): one job out, one
 * reply back. Typed once here so that both sides change together.
 */
import type { BuildResult } from './bundle.js';

export interface BuildJob {
  id: number;
  /** The uploaded source, TypeScript or JavaScript. */
  code: string;
  /** The name the user gave it: picks the loader and labels errors; never opened as a path. */
  filename: string;
}

/** What a worker sends: `ready` once, when it has warmed up, then one reply per job. */
export type FromWorker = { ready: true } | BuildReply;

export type BuildReply =
  /** The build ran: bundled code, or the first syntax, import or type error. */
  | { id: number; result: BuildResult }
  /** The compiler overflowed its stack (a type or expression nested thousands deep). */
  | { id: number; failure: 'stack' }
  /** Anything else the worker did not expect: a platform bug. */
  | { id: number; failure: 'internal'; message: string };
