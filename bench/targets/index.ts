/**
 * The servers the race runs the hello function on. Each is its own process (or process tree), so
 * its CPU and memory can be read from /proc apart from the load generator's.
 */
export { startPlain } from './plain.js';
export { startProcyon, type ProcyonMode } from './procyon.js';
export { startWorkerd } from './workerd.js';

export interface Target {
  /** URL that answers GET with the hello body */
  url: string;
  /** Root of the server's process tree */
  pid: number;
  stop(): Promise<void>;
}

/** A target that could not run here, and why: reported as such rather than as a number. */
export interface Unavailable {
  unavailable: string;
}
