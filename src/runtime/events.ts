/**
 * Event, CustomEvent and EventTarget (DOM standard) without the DOM tree: an event goes to its
 * target alone, so dispatch is the at-target step, capture listeners first. Listener options
 * capture, once, passive and signal; handleEvent objects. An exception thrown by a listener is
 * reported (logged, report.ts) and the other listeners still run, as in browsers.
 */
import { DOMException } from './dom-exception.js';
import { INSPECT, type Inspect } from './inspect.js';
import { monotonicNow } from './platform.js';
import { reportError } from './report.js';

export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

export interface CustomEventInit<T = unknown> extends EventInit {
  detail?: T;
}

export type EventListener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };

export interface AddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: unknown;
}

/** What addEventListener needs of an AbortSignal; abort.ts registers each signal's state here. */
export interface SignalState {
  aborted: boolean;
  /** Run, in order, when the signal aborts, before its "abort" event. */
  algorithms: Set<() => void>;
}

export const SIGNALS = new WeakMap<object, SignalState>();

const NONE = 0;
const AT_TARGET = 2;
const PHASES = { NONE, CAPTURING_PHASE: 1, AT_TARGET, BUBBLING_PHASE: 3 };

interface EventState {
  type: string;
  bubbles: boolean;
  cancelable: boolean;
  composed: boolean;
  timeStamp: number;
  target: EventTarget | null;
  currentTarget: EventTarget | null;
  phase: number;
  canceled: boolean;
  stop: boolean;
  stopImmediate: boolean;
  dispatching: boolean;
  inPassive: boolean;
  trusted: boolean;
}

let stateOf: (event: Event) => EventState;

export class Event {
  readonly #state: EventState;

  static {
    stateOf = (event) => event.#state;
  }

  constructor(type: string, init?: EventInit) {
    if (arguments.length === 0)
      throw new TypeError(`${new.target.name}: 1 argument required, but only 0 present`);
    if (init !== undefined && init !== null && typeof init !== 'object')
      throw new TypeError(`${new.target.name}: init must be an object`);
    this.#state = {
      type: String(type),
      bubbles: Boolean(init?.bubbles),
      cancelable: Boolean(init?.cancelable),
      composed: Boolean(init?.composed),
      timeStamp: monotonicNow(),
      target: null,
      currentTarget: null,
      phase: NONE,
      canceled: false,
      stop: false,
      stopImmediate: false,
      dispatching: false,
      inPassive: false,
      trusted: false,
    };
  }

  get type(): string {
    return this.#state.type;
  }
  get target(): EventTarget | null {
    return this.#state.target;
  }
  get srcElement(): EventTarget | null {
    return this.#state.target;
  }
  get currentTarget(): EventTarget | null {
    return this.#state.currentTarget;
  }
  get eventPhase(): number {
    return this.#state.phase;
  }
  get bubbles(): boolean {
    return this.#state.bubbles;
  }
  get cancelable(): boolean {
    return this.#state.cancelable;
  }
  get composed(): boolean {
    return this.#state.composed;
  }
  get isTrusted(): boolean {
    return this.#state.trusted;
  }
  get timeStamp(): number {
    return this.#state.timeStamp;
  }
  get defaultPrevented(): boolean {
    return this.#state.canceled;
  }
  get returnValue(): boolean {
    return !this.#state.canceled;
  }
  set returnValue(value: boolean) {
    if (!value) this.preventDefault();
  }
  get cancelBubble(): boolean {
    return this.#state.stop;
  }
  set cancelBubble(value: boolean) {
    if (value) this.#state.stop = true;
  }

  composedPath(): EventTarget[] {
    const current = this.#state.currentTarget;
    return current === null ? [] : [current];
  }

  stopPropagation(): void {
    this.#state.stop = true;
  }

  stopImmediatePropagation(): void {
    this.#state.stop = true;
    this.#state.stopImmediate = true;
  }

  preventDefault(): void {
    if (this.#state.cancelable && !this.#state.inPassive) this.#state.canceled = true;
  }

  get [Symbol.toStringTag](): string {
    return 'Event';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const { type, defaultPrevented, cancelable, timeStamp } = this;
    return `${this[Symbol.toStringTag]} ${inspect({ type, defaultPrevented, cancelable, timeStamp })}`;
  }
}

export class CustomEvent<T = unknown> extends Event {
  readonly #detail: T | null;

  constructor(type: string, init?: CustomEventInit<T>) {
    super(type, init);
    this.#detail = init?.detail ?? null;
  }

  get detail(): T | null {
    return this.#detail;
  }

  override get [Symbol.toStringTag](): string {
    return 'CustomEvent';
  }
}

for (const target of [Event, Event.prototype]) {
  for (const [name, value] of Object.entries(PHASES))
    Object.defineProperty(target, name, { value, enumerable: true, writable: false, configurable: false });
}

/** An event the runtime itself fires (`isTrusted` is true), such as AbortSignal's "abort". */
export const trustedEvent = (type: string): Event => {
  const event = new Event(type);
  stateOf(event).trusted = true;
  return event;
};

interface Registration {
  callback: EventListener;
  capture: boolean;
  once: boolean;
  passive: boolean;
  removed: boolean;
}

const flatten = (options: boolean | AddEventListenerOptions | undefined): AddEventListenerOptions => {
  if (options === null || options === undefined) return {};
  return typeof options === 'object' ? options : { capture: Boolean(options) };
};

const checkCallback = (callback: unknown, method: string): callback is EventListener => {
  if (callback === null || callback === undefined) return false;
  if (typeof callback !== 'function' && typeof callback !== 'object')
    throw new TypeError(
      `EventTarget.${method}: the listener must be a function or an object with handleEvent`,
    );
  return true;
};

export class EventTarget {
  readonly #listeners = new Map<string, Registration[]>();

  addEventListener(
    type: string,
    callback: EventListener | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (arguments.length < 2) throw new TypeError('EventTarget.addEventListener: 2 arguments required');
    const opts = flatten(options);
    const signal = opts.signal;
    const signalState = signal === undefined ? undefined : SIGNALS.get(signal as object);
    if (signal !== undefined && signalState === undefined)
      throw new TypeError('EventTarget.addEventListener: the signal option must be an AbortSignal');
    if (!checkCallback(callback, 'addEventListener') || signalState?.aborted) return;
    const key = String(type);
    const capture = Boolean(opts.capture);
    let list = this.#listeners.get(key);
    if (list === undefined) this.#listeners.set(key, (list = []));
    if (list.some((r) => r.callback === callback && r.capture === capture)) return;
    list.push({
      callback,
      capture,
      once: Boolean(opts.once),
      passive: Boolean(opts.passive),
      removed: false,
    });
    signalState?.algorithms.add(() => this.removeEventListener(key, callback, { capture }));
  }

  removeEventListener(
    type: string,
    callback: EventListener | null,
    options?: boolean | { capture?: boolean },
  ): void {
    if (arguments.length < 2) throw new TypeError('EventTarget.removeEventListener: 2 arguments required');
    if (!checkCallback(callback, 'removeEventListener')) return;
    const list = this.#listeners.get(String(type));
    const capture = Boolean(flatten(options).capture);
    const index = list?.findIndex((r) => r.callback === callback && r.capture === capture) ?? -1;
    if (list === undefined || index === -1) return;
    (list[index] as Registration).removed = true;
    list.splice(index, 1);
  }

  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event))
      throw new TypeError('EventTarget.dispatchEvent: the argument must be an Event');
    const state = stateOf(event);
    if (state.dispatching)
      throw new DOMException('The event is already being dispatched', 'InvalidStateError');
    state.dispatching = true;
    state.target = this;
    state.currentTarget = this;
    state.phase = AT_TARGET;
    try {
      // The capturing pass, then the bubbling pass, each over the listeners as they were when it began.
      for (const capture of [true, false]) {
        if (state.stop) break;
        this.#invoke(event, state, capture);
      }
    } finally {
      state.dispatching = false;
      state.phase = NONE;
      state.currentTarget = null;
      state.stop = false;
      state.stopImmediate = false;
    }
    return !state.canceled;
  }

  #invoke(event: Event, state: EventState, capture: boolean): void {
    const list = this.#listeners.get(state.type);
    if (list === undefined) return;
    for (const reg of list.slice()) {
      if (reg.removed || reg.capture !== capture) continue;
      if (reg.once) this.removeEventListener(state.type, reg.callback, { capture });
      state.inPassive = reg.passive;
      try {
        const { callback } = reg;
        if (typeof callback === 'function') callback.call(this, event);
        else {
          const handle: unknown = callback.handleEvent;
          if (typeof handle !== 'function')
            throw new TypeError('the listener object has no handleEvent method');
          handle.call(callback, event);
        }
      } catch (err) {
        reportError(err);
      }
      state.inPassive = false;
      if (state.stopImmediate) return;
    }
  }

  get [Symbol.toStringTag](): string {
    return 'EventTarget';
  }
}
