/**
 * setTimeout / setInterval / clearTimeout / clearInterval and `scheduler.wait`. An isolate has no
 * event loop of its own, so this is one: the timers live here, in a table, and each call (its
 * host token) has at most one host `timers.sleep` under way (src/sandbox/isolate/bridges/
 * timers.ts), for its earliest timer. When that sleep ends, every timer of the call that is due
 * runs, in due order (equal-due ones in the order they were set), after the current microtasks, as
 * on the web; then the next sleep is armed. One sleep per call, not one per timer: a call that
 * leaves 10,000 timers behind leaves one sleep, whose end is one crossing into the isolate, not
 * 10,000 queued ahead of the next call's work (issue 11). Timers are bounded by the invocation:
 * they fire during the call and its `ctx.waitUntil` tail; when the call ends (with any outcome) its
 * timers are dropped here at once (endTimersOf) and the host ends its sleep ("the invocation has
 * ended"), so none of them runs later. Which call a timer belongs to is decided when it is set
 * (calls.ts); its re-arms go to the same call.
 */
import { MAX_PENDING_TIMERS } from '../sandbox/limits.js';
import { callToken, hostCall } from './bridge.js';
import { defineGlobal } from './define.js';
import { DOMException } from './dom-exception.js';
import { reportError } from './report.js';

/** The largest delay the web allows (2^31 - 1 ms); longer ones outlive any call anyway. */
const MAX_DELAY_MS = 2_147_483_647;

type Handler = (...args: unknown[]) => unknown;

interface Timer {
  handler: Handler;
  args: unknown[];
  /** The period of an interval; null for a timeout. (ms) */
  period: number | null;
  /** The host call token it was set under. */
  token: number;
  /** When it is due (ms since epoch). */
  due: number;
}

/** The one host sleep of a call's timers: its id (for the host) and when it ends. */
interface Wake {
  id: number;
  due: number;
}

/** The timers of this isolate, by id (ids are never reused), and each call's wake, by token. */
const table = { nextId: 1, timers: new Map<number, Timer>(), wakes: new Map<number, Wake>() };

function toDelay(ms: unknown): number {
  const n = Number(ms);
  return n > 0 ? Math.min(Math.trunc(n), MAX_DELAY_MS) : 0;
}

function arm(timer: Timer, delay: number): void {
  timer.due = Date.now() + delay;
  const wake = table.wakes.get(timer.token);
  if (wake === undefined || timer.due < wake.due) sleepUntil(timer.token, timer.due);
}

/** Makes `token`'s wake end at `due`, replacing (and cancelling) the one under way. */
function sleepUntil(token: number, due: number): void {
  const earlier = table.wakes.get(token);
  if (earlier !== undefined) hostCall('timers.cancel', [earlier.id], token).catch(() => undefined);
  const wake: Wake = { id: table.nextId++, due };
  table.wakes.set(token, wake);
  hostCall('timers.sleep', [wake.id, Math.max(0, due - Date.now())], token).then(
    () => {
      if (table.wakes.get(token) === wake) fireDue(token, wake);
    },
    () => {
      // Cancelled (replaced by an earlier wake), or the call ended: then its timers never run.
      if (table.wakes.get(token) !== wake) return;
      table.wakes.delete(token);
      endTimersOf(token);
    },
  );
}

/** Runs `token`'s due timers in due order, then arms the wake for the next one. */
function fireDue(token: number, wake: Wake): void {
  table.wakes.delete(token);
  // The host slept at least until `wake.due`; the clocks agree to the millisecond.
  const now = Math.max(Date.now(), wake.due);
  const due: [number, Timer][] = [];
  for (const entry of table.timers) if (entry[1].token === token && entry[1].due <= now) due.push(entry);
  // Map order is the order ids were made, and the sort is stable: equal-due timers keep it.
  due.sort((a, b) => a[1].due - b[1].due);
  for (const [id, timer] of due) {
    // Cleared by a callback that ran before it.
    if (table.timers.get(id) !== timer) continue;
    if (timer.period === null) table.timers.delete(id);
    else timer.due = Date.now() + timer.period;
    try {
      timer.handler.apply(globalThis, timer.args);
    } catch (err) {
      reportError(err);
    }
  }
  // Callbacks may have set earlier timers (and armed a wake) meanwhile.
  let next = Number.POSITIVE_INFINITY;
  for (const timer of table.timers.values()) if (timer.token === token && timer.due < next) next = timer.due;
  const armed = table.wakes.get(token);
  if (next !== Number.POSITIVE_INFINITY && (armed === undefined || next < armed.due)) sleepUntil(token, next);
}

function schedule(what: string, handler: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof handler !== 'function') {
    throw new TypeError(
      typeof handler === 'string'
        ? `${what}: a string handler would be evaluated as code, which is not allowed; pass a function`
        : `${what}: the handler must be a function`,
    );
  }
  if (table.timers.size >= MAX_PENDING_TIMERS)
    throw new RangeError(`${what}: more than ${MAX_PENDING_TIMERS} timers pending`);
  const delay = toDelay(ms);
  const id = table.nextId++;
  const timer: Timer = {
    handler: handler as Handler,
    args,
    period: repeat ? delay : null,
    token: callToken(),
    due: 0,
  };
  table.timers.set(id, timer);
  arm(timer, delay);
  return id;
}

/**
 * Drops the timers of a call that has ended (`token`: its id, or ANY_CALL once no call is in
 * flight), without running them. The host ends the call's sleep itself; if it had already ended
 * and its answer is still queued for the isolate, it finds no wake and runs nothing inside the
 * next call.
 */
export function endTimersOf(token: number): void {
  table.wakes.delete(token);
  for (const [id, timer] of table.timers) if (timer.token === token) table.timers.delete(id);
}

function clear(id: unknown): void {
  // The call's wake stays: when it ends it finds this timer gone and sleeps until the next one.
  table.timers.delete(Number(id));
}

export function setTimeout(handler: unknown, ms?: unknown, ...args: unknown[]): number {
  return schedule('setTimeout', handler, ms, args, false);
}

export function setInterval(handler: unknown, ms?: unknown, ...args: unknown[]): number {
  return schedule('setInterval', handler, ms, args, true);
}

export function clearTimeout(id?: unknown): void {
  clear(id);
}

export function clearInterval(id?: unknown): void {
  clear(id);
}

interface AbortSignalLike {
  aborted: boolean;
  reason: unknown;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** `scheduler.wait(ms, { signal })` (WICG Prioritized Task Scheduling, as in Workers). */
export class Scheduler {
  wait(ms?: unknown, options?: { signal?: AbortSignalLike } | null): Promise<void> {
    const signal = options?.signal;
    const abortReason = (): unknown =>
      signal?.reason ?? new DOMException('The operation was aborted.', 'AbortError');
    if (signal?.aborted) return Promise.reject(abortReason());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(id);
        reject(abortReason());
      };
      const id = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get [Symbol.toStringTag](): string {
    return 'Scheduler';
  }
}

export function installTimerGlobals(): void {
  defineGlobal('setTimeout', setTimeout);
  defineGlobal('setInterval', setInterval);
  defineGlobal('clearTimeout', clearTimeout);
  defineGlobal('clearInterval', clearInterval);
  defineGlobal('scheduler', new Scheduler());
}
