/**
 * `ctx.waitUntil(promise)` for one call: the promises a fetch handler hands over so that work
 * goes on after its response, and `settle`, which the host awaits once it has the response.
 * Rejections are reported (logged with their stack), never rethrown: the response is already out.
 * Loaded on first use (lazy.ts): most calls never call waitUntil.
 */
import type { SettleResult } from './contract.js';
import { later, type Scheduled } from './later.js';

const TIMED_OUT: unique symbol = Symbol('timed out');

export class WaitUntil {
  /** Each handed-over promise, wrapped so that it never rejects; removed once it has settled. */
  readonly #pending = new Set<Promise<void>>();
  readonly #report: (err: unknown) => void;

  constructor(report: (err: unknown) => void) {
    this.#report = report;
  }

  add(promise: unknown): void {
    let source: Promise<unknown>;
    try {
      source = Promise.resolve(promise);
    } catch (err) {
      // A promise subclass whose `constructor` getter throws.
      source = Promise.reject(err);
    }
    const settled: Promise<void> = source
      .then(
        () => undefined,
        (err: unknown) => this.#report(err),
      )
      .then(() => {
        this.#pending.delete(settled);
      });
    this.#pending.add(settled);
  }

  /** Promises handed over and not settled yet. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Waits for every promise, including ones added meanwhile; gives up after `timeoutMs`. */
  async settle(timeoutMs?: number): Promise<SettleResult> {
    let expire: (value: typeof TIMED_OUT) => void = () => undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      expire = resolve;
    });
    const bounded = typeof timeoutMs === 'number' && timeoutMs >= 0;
    let timer: Scheduled | null = null;
    try {
      if (bounded) timer = later(() => expire(TIMED_OUT), timeoutMs);
    } catch {
      // Timers that cannot be used now: the host's own call timeout still bounds the wait.
    }
    try {
      while (this.#pending.size > 0) {
        const all = Promise.all(this.#pending);
        if (timer === null) await all;
        else if ((await Promise.race([all, timedOut])) === TIMED_OUT) break;
      }
    } finally {
      timer?.cancel();
    }
    return { pending: this.#pending.size };
  }
}
