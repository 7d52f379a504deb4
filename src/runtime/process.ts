/**
 * Process classes inside the isolate (docs/processes.md): the module exports a class; this isolate
 * holds one instance of it, made on its first event, and runs its events (fetch, message, alarm).
 *
 * Input gate: one event runs at a time, in arrival order, from its start to its end, through every
 * await of its own (storage, request bodies, timers) — so read-modify-write code needs no lock.
 * The one exception is a call out to a process (`env.procs.get(...).call/fetch/send`): while an
 * event waits for one, the next event may run, which keeps A → B → A chains from deadlocking;
 * the waiting event resumes once the running one ends or itself calls out. Output gate: a result
 * or an outgoing message leaves only once every storage write issued before it is durable
 * (storage.ts `settled`).
 *
 * An event whose handler throws fails, and the instance is dropped here (the node also discards
 * the isolate): the next event constructs a new one from storage.
 *
 * Snapshot rule (see index.ts): this module's top level runs while the snapshot is made.
 */
import { fetchResult, requestFromWire, type CallScope } from './adapters.js';
import { envFactory } from './bindings.js';
import { ProcsBinding, withProcs } from './procs.js';
import type { BindMeta, CallOptions, DispatchInput, DispatchResult } from './contract.js';
import { failure, functionError, messageOf } from './failures.js';
import { cloneModule } from './lazy.js';
import { ProcStorage } from './storage.js';
import { runTransaction } from './transaction.js';

type Method = 'fetch' | 'onMessage' | 'alarm';
const METHODS: readonly Method[] = ['fetch', 'onMessage', 'alarm'];

/** The right to run: held by one event at a time, handed on in the order asked for. */
export class RunToken<Owner> {
  #held = false;
  /** The event holding the token, and the last one that did (for code that runs after it). */
  #owner: Owner | null = null;
  readonly #waiting: { owner: Owner; resolve: () => void }[] = [];

  get owner(): Owner | null {
    return this.#owner;
  }

  /** Takes the token now if it is free and nobody waits (so the caller may start at once). */
  tryTake(owner: Owner): boolean {
    if (this.#held || this.#waiting.length > 0) return false;
    this.#held = true;
    this.#owner = owner;
    return true;
  }

  /** Resolves once the token is the caller's. */
  take(owner: Owner): Promise<void> {
    if (this.tryTake(owner)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ owner, resolve }));
  }

  give(): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#held = false;
      return;
    }
    this.#owner = next.owner;
    next.resolve();
  }

  /** Runs an out-call without the token, so other events can run meanwhile; takes it back after. */
  async without<T>(call: () => Promise<T>): Promise<T> {
    const owner = this.#owner;
    // Code outside any event (a timer left behind) holds nothing to give.
    if (!this.#held || owner === null) return call();
    this.give();
    try {
      return await call();
    } finally {
      await this.take(owner);
    }
  }
}

export interface BoundProcess {
  style: 'process';
  meta: BindMeta;
  cls: new (ctx: object, env: object) => Record<string, unknown>;
  /** Held by the running event; its owner is that event's scope (for `ctx.waitUntil`). */
  token: RunToken<CallScope>;
  storage: ProcStorage;
  env: object;
  instance: Record<string, unknown> | null;
}

/** Finds the process class in an evaluated module, or throws a TypeError for deploy. */
export function bindProcess(namespace: Record<string, unknown>, meta: BindMeta): BoundProcess {
  const className = meta.process?.className ?? '';
  const cls = namespace[className];
  if (typeof cls !== 'function') {
    const names = Object.keys(namespace);
    throw new TypeError(
      `the module must export the process class ${className} (it exports ${names.length === 0 ? 'nothing' : names.join(', ')})`,
    );
  }
  const proto = (cls as { prototype?: Record<string, unknown> }).prototype;
  if (proto === undefined || !METHODS.some((m) => typeof proto[m] === 'function')) {
    throw new TypeError(`the process class ${className} must have a fetch, onMessage or alarm method`);
  }
  const token = new RunToken<CallScope>();
  const storage = new ProcStorage();
  const procs = new ProcsBinding(undefined, {
    beforeSend: () => storage.settled(),
    around: (call) => token.without(call),
  });
  const env = Object.freeze(withProcs({ ...envFactory(meta)(0) }, procs));
  return { style: 'process', meta, cls: cls as BoundProcess['cls'], token, storage, env, instance: null };
}

function contextOf(bound: BoundProcess): object {
  const name = bound.meta.process?.instance ?? '';
  const { storage } = bound;
  return Object.freeze({
    id: Object.freeze({ name, toString: () => name }),
    storage: Object.freeze({
      get: (key: unknown) => storage.get(key),
      put: (key: unknown, value?: unknown) => storage.put(key, value),
      delete: (key: unknown) => storage.delete(key),
      deleteAll: () => storage.deleteAll(),
      list: (options?: unknown) => storage.list(options),
      transaction: (fn: unknown) => runTransaction(storage, fn),
      getAlarm: () => storage.getAlarm(),
      setAlarm: (time: unknown) => storage.setAlarm(time),
      deleteAlarm: () => storage.deleteAlarm(),
      sync: () => storage.settled(),
    }),
    // Work the event's response need not wait for: kept by the event running now (or the last).
    waitUntil(promise: unknown): void {
      const scope = bound.token.owner;
      if (scope === null) throw new Error('waitUntil() can only be called from an event');
      scope.waitUntil(promise);
    },
    // Events never interleave but at out-calls, so this only has to run `fn` (Workers compatibility).
    async blockConcurrencyWhile(fn: unknown): Promise<unknown> {
      if (typeof fn !== 'function') throw new TypeError('blockConcurrencyWhile() needs a function');
      return (fn as () => unknown)();
    },
  });
}

const METHOD_OF: Record<Exclude<DispatchInput['type'], 'event'>, Method> = {
  fetch: 'fetch',
  message: 'onMessage',
  alarm: 'alarm',
};

/**
 * The synchronous start of one event, as the event's code: constructs the instance on the first
 * event (a constructor that throws fails the event, and the next one tries again), then calls
 * the handler with its arguments.
 */
function start(bound: BoundProcess, method: Method, args: unknown[], scope: CallScope): unknown {
  return scope.sync((): unknown => {
    bound.instance ??= new bound.cls(contextOf(bound), bound.env);
    const instance = bound.instance;
    const handler = instance[method];
    if (typeof handler !== 'function') throw new MissingMethod(bound, method);
    return handler.apply(instance, args) as unknown;
  });
}

/** An event for a method the class lacks: the instance itself is fine and is kept. */
class MissingMethod extends TypeError {
  constructor(bound: BoundProcess, method: Method) {
    super(`the process class ${bound.meta.process?.className ?? ''} has no ${method}() method`);
  }
}

function argsOf(input: Exclude<DispatchInput, { type: 'event' }>): unknown[] {
  if (input.type === 'fetch') return [requestFromWire(input.request)];
  if (input.type === 'message') return [input.from, input.message];
  return [{ retryCount: input.retryCount }];
}

export async function runProcess(
  bound: BoundProcess,
  input: DispatchInput,
  call: CallOptions,
  scope: CallScope,
): Promise<DispatchResult> {
  if (input.type === 'event') return failure('PROCYON_INTERNAL', 'a Lambda event was sent to a process');
  if (bound.meta.process?.instance === undefined)
    return failure('PROCYON_INTERNAL', 'an event was sent to a process class without an instance');
  const method = METHOD_OF[input.type];
  if (method === undefined) return failure('PROCYON_INTERNAL', `a process cannot take a ${input.type} input`);
  let args: unknown[];
  try {
    args = argsOf(input);
  } catch (err) {
    return failure('PROCYON_INTERNAL', `could not build the event: ${messageOf(err)}`);
  }
  if (!bound.token.tryTake(scope)) await bound.token.take(scope);
  let returned: unknown;
  try {
    returned = await start(bound, method, args, scope);
    await bound.storage.settled();
  } catch (err) {
    // A broken instance is not kept: the next event starts from storage. (A missing method
    // breaks nothing; the failure still makes the node discard the proc.)
    if (!(err instanceof MissingMethod)) bound.instance = null;
    return functionError(err);
  } finally {
    bound.token.give();
  }
  if (input.type === 'fetch') return fetchResult(returned, call.maxResponseBytes, scope);
  if (input.type === 'alarm' || !input.reply) return { ok: true, result: { type: 'event', value: null } };
  try {
    // Only structured-clone data crosses to the sender; check here for a clear error.
    cloneModule().structuredClone(returned);
  } catch (err) {
    return failure(
      'PROCYON_BAD_RESPONSE',
      `onMessage() returned a value that cannot be sent: ${messageOf(err)}`,
    );
  }
  return { ok: true, result: { type: 'event', value: returned === undefined ? null : returned } };
}
