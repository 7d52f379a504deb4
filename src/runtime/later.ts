/**
 * Running something after a delay, for AbortSignal.timeout and `settle`'s bound. A bare isolate has
 * no timers: they are bridged from the host by timers.ts. So the global `setTimeout` is looked up
 * at call time rather than imported, and its absence is reported to the caller.
 */

export interface Scheduled {
  cancel(): void;
}

type TimerGlobals = {
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
};

/**
 * Calls `callback` after `ms` through the global setTimeout; null when there are no timers.
 * A setTimeout that throws (no host bridge, or a call that has ended) propagates its error.
 */
export function later(callback: () => void, ms: number): Scheduled | null {
  const timers = globalThis as TimerGlobals;
  const set = timers.setTimeout;
  if (typeof set !== 'function') return null;
  const id = set(callback, ms);
  return {
    cancel(): void {
      const clear = timers.clearTimeout;
      try {
        if (typeof clear === 'function') clear(id);
      } catch {
        // The timer's call has ended, and the timer with it.
      }
    },
  };
}
