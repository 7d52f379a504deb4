/**
 * setTimeout / setInterval / clearTimeout / clearInterval and `scheduler.wait`. An isolate has no
 * event loop of its own: each armed timer is one host `timers.sleep` (src/sandbox/isolate/bridges/
 * timers.ts) that resolves after the delay, and the callback runs when it does, so a 0 ms timeout
 * runs after the current microtasks, as on the web. Timers are bounded by the invocation: they
 * fire during the call and its `ctx.waitUntil` tail; when the call ends (with any outcome) its
 * timers are dropped here at once (endTimersOf) and the host ends every pending sleep ("the
 * invocation has ended"), so none of them runs later, whatever is still queued for the isolate. Which
 * call a timer belongs to is decided when it is set (calls.ts); its re-arms and its cancel go to
 * the same call.
 */
import { callToken, hostCall } from './bridge.js';
import { defineGlobal } from './define.js';
import { DOMException } from './dom-exception.js';
import { reportError } from './report.js';

/** Timers one isolate may have pending; the host enforces the same cap per call. */
const MAX_PENDING_TIMERS = 10_000;
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
  /** When it is due (ms since epoch): equal-due timers fire in the order they were set. */
  due: number;
}

/** The timers of this isolate, by id; ids are never reused. */
const table = { nextId: 1, timers: new Map<number, Timer>() };

function toDelay(ms: unknown): number {
  const n = Number(ms);
  return n > 0 ? Math.min(Math.trunc(n), MAX_DELAY_MS) : 0;
}

function arm(id: number, timer: Timer, delay: number): void {
  timer.due = Date.now() + delay;
  hostCall('timers.sleep', [id, delay], timer.token).then(
    () => fire(id, timer),
    () => {
      // The call ended (or the host refused): the timer will never run.
      if (table.timers.get(id) === timer) table.timers.delete(id);
    },
  );
}

function fire(id: number, timer: Timer): void {
  // Cleared (or cleared and the id's sleep cancelled) while the sleep was under way.
  if (table.timers.get(id) !== timer) return;
  // Host sleeps may resolve out of order; timers set earlier and due no later fire first (their
  // own sleeps, when they end, find them gone). The table iterates in the order ids were made.
  for (const [earlierId, earlier] of table.timers) {
    if (earlierId >= id) break;
    if (earlier.due <= timer.due) fire(earlierId, earlier);
  }
  if (table.timers.get(id) !== timer) return;
  if (timer.period === null) table.timers.delete(id);
  try {
    timer.handler.apply(globalThis, timer.args);
  } catch (err) {
    reportError(err);
  }
  if (timer.period !== null && table.timers.get(id) === timer) arm(id, timer, timer.period);
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
  arm(id, timer, delay);
  return id;
}

/**
 * Drops the timers of a call that has ended (`token`: its id, or ANY_CALL once no call is in
 * flight), without running them. The host ends their sleeps itself; a sleep that had already
 * ended and whose answer is still queued for the isolate then finds its timer gone, instead of
 * running a failed call's callbacks inside the next call.
 */
export function endTimersOf(token: number): void {
  for (const [id, timer] of table.timers) if (timer.token === token) table.timers.delete(id);
}

function clear(id: unknown): void {
  const key = Number(id);
  const timer = table.timers.get(key);
  if (timer === undefined) return;
  table.timers.delete(key);
  // Frees the host's timer; if the sleep has already ended, fire() finds the timer gone.
  hostCall('timers.cancel', [key], timer.token).catch(() => undefined);
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
