/**
 * AbortController and AbortSignal (DOM standard): abort(reason), aborted, reason,
 * throwIfAborted(), onabort, AbortSignal.abort(), AbortSignal.any() (dependent signals, which abort
 * with their first source) and AbortSignal.timeout(), which needs the host's timers (later.ts).
 */
import { DOMException } from './dom-exception.js';
import { type Event, EventTarget, SIGNALS, type SignalState, trustedEvent } from './events.js';
import { later } from './later.js';
import { reportError } from './report.js';

interface AbortState extends SignalState {
  reason: unknown;
  /** any(): the signals that abort when this one does. */
  dependents: Set<AbortSignal>;
  /** any(): the non-dependent signals this one follows. */
  sources: Set<AbortSignal>;
  dependent: boolean;
  /** The `onabort` handler and the listener that calls it (registered on first set). */
  handler: ((this: AbortSignal, event: Event) => unknown) | null;
  handlerListener: ((event: Event) => void) | null;
}

const CONSTRUCT: unique symbol = Symbol('AbortSignal internal construction');
/** Taken now, so a signal's own `dispatchEvent` property cannot intercept its abort event. */
const dispatch = EventTarget.prototype.dispatchEvent;

let stateOf: (signal: AbortSignal) => AbortState;

const abortError = (): DOMException => {
  return new DOMException('This operation was aborted', 'AbortError');
};

/** The DOM's "signal abort": this signal and its dependents get the reason, then run their steps. */
const signalAbort = (signal: AbortSignal, reason: unknown): void => {
  const state = stateOf(signal);
  if (state.aborted) return;
  state.aborted = true;
  state.reason = reason === undefined ? abortError() : reason;
  const followers: AbortSignal[] = [];
  for (const dependent of state.dependents) {
    const other = stateOf(dependent);
    if (other.aborted) continue;
    other.aborted = true;
    other.reason = state.reason;
    followers.push(dependent);
  }
  state.dependents.clear();
  for (const target of [signal, ...followers]) runAbortSteps(target);
};

const runAbortSteps = (signal: AbortSignal): void => {
  const state = stateOf(signal);
  const algorithms = [...state.algorithms];
  state.algorithms.clear();
  for (const algorithm of algorithms) {
    try {
      algorithm();
    } catch (err) {
      reportError(err);
    }
  }
  dispatch.call(signal, trustedEvent('abort'));
};

export class AbortSignal extends EventTarget {
  readonly #state: AbortState;

  static {
    stateOf = (signal) => signal.#state;
  }

  /** Not for user code: signals come from AbortController and the static methods. */
  constructor(...args: unknown[]) {
    if (args[0] !== CONSTRUCT) throw new TypeError('AbortSignal: Illegal constructor');
    super();
    this.#state = {
      aborted: false,
      reason: undefined,
      algorithms: new Set(),
      dependents: new Set(),
      sources: new Set(),
      dependent: false,
      handler: null,
      handlerListener: null,
    };
    SIGNALS.set(this, this.#state);
  }

  get aborted(): boolean {
    return this.#state.aborted;
  }

  get reason(): unknown {
    return this.#state.reason;
  }

  throwIfAborted(): void {
    if (this.#state.aborted) throw this.#state.reason;
  }

  get onabort(): AbortState['handler'] {
    return this.#state.handler;
  }

  set onabort(value: AbortState['handler']) {
    const state = this.#state;
    state.handler = typeof value === 'function' ? value : null;
    if (state.handler === null && state.handlerListener !== null) {
      this.removeEventListener('abort', state.handlerListener);
      state.handlerListener = null;
    } else if (state.handler !== null && state.handlerListener === null) {
      state.handlerListener = (event) => {
        state.handler?.call(this, event);
      };
      this.addEventListener('abort', state.handlerListener);
    }
  }

  static abort(reason?: unknown): AbortSignal {
    const signal = new AbortSignal(CONSTRUCT);
    signalAbort(signal, reason);
    return signal;
  }

  /** Aborts with a "TimeoutError" after `ms`; TypeError for a negative or non-finite delay. */
  static timeout(ms: number): AbortSignal {
    const delay = Number(ms);
    if (!Number.isFinite(delay) || delay < 0 || delay > Number.MAX_SAFE_INTEGER)
      throw new TypeError(`AbortSignal.timeout: ${String(ms)} is not a valid number of milliseconds`);
    const signal = new AbortSignal(CONSTRUCT);
    const timer = later(
      () => signalAbort(signal, new DOMException('The operation timed out.', 'TimeoutError')),
      Math.trunc(delay),
    );
    if (timer === null)
      throw new DOMException(
        'AbortSignal.timeout needs setTimeout, which this isolate does not have',
        'NotSupportedError',
      );
    return signal;
  }

  /** A signal that aborts when the first of `signals` does, with its reason. */
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const list = [...signals];
    for (const s of list) {
      if (!(s instanceof AbortSignal))
        throw new TypeError('AbortSignal.any: every item must be an AbortSignal');
    }
    const result = new AbortSignal(CONSTRUCT);
    const aborted = list.find((s) => s.aborted);
    if (aborted !== undefined) {
      result.#state.aborted = true;
      result.#state.reason = aborted.reason;
      return result;
    }
    const state = result.#state;
    state.dependent = true;
    for (const s of list) {
      const sources = s.#state.dependent ? [...s.#state.sources] : [s];
      for (const source of sources) {
        state.sources.add(source);
        source.#state.dependents.add(result);
      }
    }
    return result;
  }

  override get [Symbol.toStringTag](): string {
    return 'AbortSignal';
  }
}

export class AbortController {
  readonly #signal = new AbortSignal(CONSTRUCT);

  get signal(): AbortSignal {
    return this.#signal;
  }

  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }

  get [Symbol.toStringTag](): string {
    return 'AbortController';
  }
}
