/**
 * Admission control: how many calls each function and each namespace may run at once on this
 * node. Beyond either limit a call waits in one bounded queue, first come first served, for at
 * most `queueTimeoutMs`; a full queue or an expired wait is 429 with Retry-After. This keeps a
 * call flood from growing unbounded queues in the isolate hosts and keeps one namespace from
 * taking every slot from the others.
 */
import { ProcyonError } from '../errors.js';

export interface AdmissionLimits {
  /** Calls one function may run at once. */
  perFunction: number;
  /** Calls one namespace may run at once. */
  perNamespace: number;
  /** Calls that may wait for a slot, node-wide. */
  queueSize: number;
  /** How long a call may wait for a slot. (ms) */
  queueTimeoutMs: number;
}

/** Timers, injectable so tests decide when a deadline passes. */
export interface AdmissionTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: AdmissionTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Waiter {
  namespace: string;
  fnKey: string;
  fnLimit: number;
  admit: () => void;
  timer: unknown;
}

/** What a caller does when its call is over. */
export type Release = () => void;

export class Admission {
  readonly #byFn = new Map<string, number>();
  readonly #byNs = new Map<string, number>();
  #queue: Waiter[] = [];

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly timers: AdmissionTimers = REAL_TIMERS,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  running(namespace: string, fn?: string): number {
    return fn === undefined ? (this.#byNs.get(namespace) ?? 0) : (this.#byFn.get(`${namespace}/${fn}`) ?? 0);
  }

  /**
   * Resolves when the call may run; rejects with 429 when it may not. `capacity`: what the
   * function itself can run at once (its maxInstances × concurrency), when lower than the limit.
   */
  acquire(namespace: string, fn: string, capacity = Infinity): Promise<Release> {
    const fnKey = `${namespace}/${fn}`;
    const fnLimit = Math.min(capacity, this.limits.perFunction);
    // Waiters are admitted the moment a slot frees, so one that fits now jumps nobody: whoever
    // waits is waiting for a different function or namespace.
    if (this.#fits(namespace, fnKey, fnLimit)) return Promise.resolve(this.#take(namespace, fnKey));
    if (this.#queue.length >= this.limits.queueSize)
      return Promise.reject(tooMany('the node is at capacity and its queue is full'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        namespace,
        fnKey,
        fnLimit,
        admit: () => resolve(this.#take(namespace, fnKey)),
        timer: this.timers.set(() => {
          this.#queue = this.#queue.filter((w) => w !== waiter);
          reject(tooMany(`no slot for function "${fn}" within ${this.limits.queueTimeoutMs} ms`));
        }, this.limits.queueTimeoutMs),
      };
      this.#queue.push(waiter);
    });
  }

  #fits(namespace: string, fnKey: string, fnLimit: number): boolean {
    return (
      (this.#byFn.get(fnKey) ?? 0) < fnLimit && (this.#byNs.get(namespace) ?? 0) < this.limits.perNamespace
    );
  }

  #take(namespace: string, fnKey: string): Release {
    this.#byFn.set(fnKey, (this.#byFn.get(fnKey) ?? 0) + 1);
    this.#byNs.set(namespace, (this.#byNs.get(namespace) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#byFn, fnKey);
      decrement(this.#byNs, namespace);
      this.#drain();
    };
  }

  /** Admits waiters that fit now, oldest first; one that does not fit does not block the others. */
  #drain(): void {
    const still: Waiter[] = [];
    for (const w of this.#queue) {
      if (this.#fits(w.namespace, w.fnKey, w.fnLimit)) {
        this.timers.clear(w.timer);
        w.admit();
      } else still.push(w);
    }
    this.#queue = still;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

function tooMany(message: string): ProcyonError {
  return new ProcyonError('PROCYON_TOO_MANY_REQUESTS', message, { details: { retryAfterSeconds: 1 } });
}
