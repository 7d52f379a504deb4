/**
 * The calls in flight in this isolate, and which of them the code running now belongs to. Several
 * calls may overlap in one isolate (a function's `concurrency`), and an isolate has no
 * AsyncContext: code that runs after an `await` cannot tell which call it continues. So:
 *
 * - Console output is charged to the call whose handler is in its synchronous part (from the
 *   handler's invocation until it first returns, and the synchronous part of a `pull` of the
 *   call's streamed body); any other output goes to the oldest call still in flight. With one
 *   call at a time that is always the call itself.
 * - A host operation (bridge.ts) carries a token: the call id given explicitly (by a per-call
 *   object such as `env.MY_KV`, when that call is still in flight), else the call in its
 *   synchronous part, else the one call in flight, else 0, "one of the calls in flight": the host
 *   runs such operations for as long as any call is in flight, so one call ending never cuts off
 *   another call's `fetch` or timer (src/sandbox/isolate/proc.ts).
 *
 * Snapshot rule (see index.ts): this module runs while the snapshot is made.
 */
import { LogBudget } from './logs.js';
import type { OutgoingStream } from './outgoing.js';
import type { WaitUntil } from './wait-until.js';

/** A call from its dispatch until the host ends it (or until dispatch returns, without a tail). */
export interface InFlightCall {
  readonly id: number;
  /** Its console output budget. */
  readonly budget: LogBudget;
  /** Its streamed response body, until read to the end or cancelled. */
  stream: OutgoingStream | null;
  /** Its `ctx.waitUntil` promises, made on first use. */
  waiting: WaitUntil | null;
}

/** The token of operations that belong to whichever calls are in flight (see the header). */
export const ANY_CALL = 0;

export class CallRegistry {
  /** In the order the calls started: the first is the oldest. */
  readonly #calls = new Map<number, InFlightCall>();
  /** Told of every call forgotten (see onEnd). */
  readonly #ended: ((id: number) => void)[] = [];
  /** The call whose synchronous part is running, if any. */
  #current: InFlightCall | null = null;
  /**
   * The budget of output made while no call is in flight: init's before the first call, then the
   * latest call's (so dangling work of a call that has returned still counts against its budget).
   */
  #outside: LogBudget;

  constructor(outsideLimit: number) {
    this.#outside = new LogBudget(outsideLimit);
  }

  /** Sets the budget of output outside calls (init's option). */
  setOutsideLimit(limit: number): void {
    this.#outside = new LogBudget(limit);
  }

  /** Registers a call; false if its id is not a positive integer or is already in flight. */
  start(id: number, logLimitBytes: number): InFlightCall | null {
    if (!Number.isSafeInteger(id) || id <= ANY_CALL || this.#calls.has(id)) return null;
    const call: InFlightCall = { id, budget: new LogBudget(logLimitBytes), stream: null, waiting: null };
    this.#calls.set(id, call);
    this.#outside = call.budget;
    return call;
  }

  get(id: number): InFlightCall | undefined {
    return this.#calls.get(id);
  }

  /**
   * Runs `listener` with a call's id when the call is forgotten, and with ANY_CALL when the last
   * call in flight is: what belonged to it (timers) goes with it.
   */
  onEnd(listener: (id: number) => void): void {
    this.#ended.push(listener);
  }

  /** Whether operations of `token` may still run: its call, or for ANY_CALL any call, is in flight. */
  live(token: number): boolean {
    return token === ANY_CALL ? this.#calls.size > 0 : this.#calls.has(token);
  }

  /**
   * Forgets a call. Its timers are dropped and answers to its pending fetch, KV, service and
   * crypto operations are never delivered (bridge.ts `hostCallForCall`), so nothing it left behind
   * runs into a later call; what is already queued as microtasks still runs, attributed as code
   * outside any call.
   */
  drop(id: number): void {
    if (!this.#calls.delete(id)) return;
    for (const listener of this.#ended) listener(id);
    if (this.#calls.size === 0) for (const listener of this.#ended) listener(ANY_CALL);
  }

  /** Runs `body`, the synchronous part of `call`'s code, with `call` as the current call. */
  runSync<T>(call: InFlightCall, body: () => T): T {
    const outer = this.#current;
    this.#current = call;
    try {
      return body();
    } finally {
      this.#current = outer;
    }
  }

  /** Whom console output made now is charged to; null outside calls. */
  logOwner(): InFlightCall | null {
    if (this.#current !== null) return this.#current;
    for (const call of this.#calls.values()) return call;
    return null;
  }

  /** The budget of output made now (by `owner`, or outside calls). */
  budgetOf(owner: InFlightCall | null): LogBudget {
    return owner === null ? this.#outside : owner.budget;
  }

  /** The token a host operation made now carries; `explicit` is the call id a per-call object knows. */
  token(explicit?: number): number {
    if (explicit !== undefined && this.#calls.has(explicit)) return explicit;
    if (this.#current !== null) return this.#current.id;
    if (this.#calls.size === 1) for (const id of this.#calls.keys()) return id;
    return ANY_CALL;
  }
}
