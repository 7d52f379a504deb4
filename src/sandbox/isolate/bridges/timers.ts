/**
 * Host side of the isolate's timers (src/runtime/timers.ts): `timers.sleep(id, ms)` resolves
 * after the delay and `timers.cancel(id)` ends it early. A sleep that would end after the call's
 * deadline never resolves; every sleep still pending when the call ends rejects with "the
 * invocation has ended", which the isolate side swallows. So timers live only as long as the call
 * (its ctx.waitUntil tail included).
 */
import { MAX_PENDING_TIMERS } from '../../limits.js';
import { invocationEnded, perCall } from './call-state.js';
import type { TimerOps } from '../../ops/index.js';
import type { BridgeTable } from './types.js';

interface Sleep {
  timer: NodeJS.Timeout | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

const sleepsOf = perCall(
  () => new Map<number, Sleep>(),
  (sleeps) => {
    for (const sleep of sleeps.values()) {
      if (sleep.timer) clearTimeout(sleep.timer);
      sleep.reject(invocationEnded());
    }
    sleeps.clear();
  },
);

export const TIMER_BRIDGES: BridgeTable<keyof TimerOps> = {
  'timers.sleep': (ctx, [id, ms]) => {
    if (typeof id !== 'number') throw new TypeError('timers.sleep: the timer id must be a number');
    const delay = Math.max(0, Number(ms) || 0);
    const sleeps = sleepsOf(ctx);
    if (ctx.signal.aborted) throw invocationEnded();
    if (sleeps.size >= MAX_PENDING_TIMERS)
      throw new RangeError(`a call may have at most ${MAX_PENDING_TIMERS} pending timers`);
    return new Promise<void>((resolve, reject) => {
      const sleep: Sleep = { timer: null, resolve, reject };
      // Past the deadline the call is over before the timer is due: it stays pending until then.
      if (Date.now() + delay <= ctx.deadline) {
        sleep.timer = setTimeout(() => {
          if (sleeps.get(id) === sleep) sleeps.delete(id);
          resolve();
        }, delay);
      }
      // An id has one sleep at a time; a stray earlier one is ended as if cancelled.
      const earlier = sleeps.get(id);
      if (earlier) end(earlier);
      sleeps.set(id, sleep);
    });
  },

  'timers.cancel': (ctx, [id]) => {
    const sleeps = sleepsOf(ctx);
    const sleep = typeof id === 'number' ? sleeps.get(id) : undefined;
    if (!sleep) return;
    sleeps.delete(id);
    end(sleep);
  },
};

/** Ends a sleep early; the isolate dropped its timer before cancelling, so this runs nothing there. */
function end(sleep: Sleep): void {
  if (sleep.timer) clearTimeout(sleep.timer);
  sleep.resolve();
}
