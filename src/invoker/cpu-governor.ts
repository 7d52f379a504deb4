/**
 * Keeps CPU-heavy functions from taking every core. A call that spins until its timeout holds a
 * core for all that time, and isolated-vm runs each busy isolate on a thread of its own, so a few
 * such calls at once starve every other function on the node. The governor learns, per function,
 * the CPU each call burns (an exponentially weighted average over its recent calls; a call that
 * timed out counts its whole duration) and, while that average is heavy, admits at most `heavyLimit`
 * calls of the function at once (by default half the cores, at least one). Light functions are
 * never limited by it; a heavy one that turns light gets its full concurrency back.
 */

export interface CpuGovernorOptions {
  /** Average CPU per call above which a function counts as heavy. (ms) @default 100 */
  heavyCpuMs?: number;
  /** Calls of a heavy function admitted at once. */
  heavyLimit: number;
  /** Weight of the newest call in the average. @default 0.3 */
  alpha?: number;
}

/** Most functions the governor remembers; beyond it the least recently seen are forgotten. */
const MAX_TRACKED = 10_000;

export class CpuGovernor {
  readonly #heavyCpuMs: number;
  readonly #heavyLimit: number;
  readonly #alpha: number;
  /** Average CPU ms per call, by `ns/fn`, in least-recently-seen-first order. */
  readonly #avg = new Map<string, number>();

  constructor(options: CpuGovernorOptions) {
    this.#heavyCpuMs = options.heavyCpuMs ?? 100;
    this.#heavyLimit = Math.max(1, Math.floor(options.heavyLimit));
    this.#alpha = options.alpha ?? 0.3;
  }

  /** One finished call: its CPU time, or its wall time when it was cut off by its timeout. */
  observe(fnKey: string, cpuMs: number, durationMs: number, timedOut: boolean): void {
    const sample = timedOut ? Math.max(cpuMs, durationMs) : cpuMs;
    const prev = this.#avg.get(fnKey);
    this.#avg.delete(fnKey);
    this.#avg.set(fnKey, prev === undefined ? sample : prev + this.#alpha * (sample - prev));
    if (this.#avg.size > MAX_TRACKED) {
      const oldest = this.#avg.keys().next().value;
      if (oldest !== undefined) this.#avg.delete(oldest);
    }
  }

  /** Calls of the function to admit at once: `heavyLimit` while it is heavy, else no limit. */
  limit(fnKey: string): number {
    return (this.#avg.get(fnKey) ?? 0) >= this.#heavyCpuMs ? this.#heavyLimit : Infinity;
  }

  heavy(fnKey: string): boolean {
    return this.limit(fnKey) !== Infinity;
  }
}
