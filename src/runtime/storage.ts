/**
 * `ctx.storage` of a process instance (docs/processes.md): a transactional key-value store kept by
 * the node, reached through the host bridge.
 *
 * The instance is the only writer of its storage, so values it has read or written are cached
 * (storage-cache.ts) and served without a round trip; writes update the cache at once (reads see them) and are sent
 * in batches: every write made in one synchronous stretch goes to the node as one `storage.write`,
 * which the node commits as one transaction. `settled()` is the output gate: it resolves once
 * every write issued so far is durable, and fails if one of them failed. (No other event of the
 * instance runs while one awaits its storage: process.ts.)
 *
 * Snapshot rule (see index.ts): this module's top level runs while the snapshot is made.
 */
import type {
  NodeOpName,
  OpArgs,
  OpResult,
  StorageListOptions as ListOptions,
  StorageWriteOp as WriteOp,
} from '../sandbox/ops/map.js';
import { hostCall } from './bridge.js';
import { utf8ByteLength } from './encoding.js';
import { DOMException } from './dom-exception.js';
import { messageOf } from './failures.js';
import { cloneModule } from './lazy.js';
import { ABSENT, StorageCache } from './storage-cache.js';

/** Largest key, in UTF-8 bytes (the node checks values: 128 KiB serialised). */
const MAX_KEY_BYTES = 2048;
/** Most keys one get/put/delete call takes. */
const MAX_KEYS_PER_CALL = 128;

interface Batch {
  ops: WriteOp[];
  done: Promise<boolean[]>;
  /** What put/delete/deleteAll handed back for this batch. */
  handed: Watched<unknown>[];
}

/**
 * A write's promise that knows whether anyone looked at it (`then`, `catch` or `await`): a failed
 * write the code caught is its business; one nobody looked at fails the event (the output gate).
 */
class Watched<T> extends Promise<T> {
  watched = false;

  // Derived promises are plain ones: only what was handed out is watched.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.watched = true;
    return super.then(onFulfilled, onRejected);
  }
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`storage keys must be strings, not ${typeof key}`);
  const size = utf8ByteLength(key);
  if (size > MAX_KEY_BYTES)
    throw new RangeError(`storage key of ${size} bytes is over the limit of ${MAX_KEY_BYTES} bytes`);
  return key;
}

function checkKeys(keys: unknown[]): string[] {
  if (keys.length > MAX_KEYS_PER_CALL)
    throw new RangeError(`${keys.length} keys in one call, over the limit of ${MAX_KEYS_PER_CALL}`);
  return keys.map(checkKey);
}

function checkList(options: unknown): ListOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new TypeError('list() options must be an object');
  const o = options as Record<string, unknown>;
  const out: ListOptions = {};
  for (const name of ['prefix', 'start', 'end'] as const) {
    if (o[name] !== undefined) out[name] = checkKey(o[name]);
  }
  if (o.limit !== undefined) {
    const limit = Number(o.limit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError('list() limit must be a positive integer');
    out.limit = limit;
  }
  if (o.reverse !== undefined) out.reverse = Boolean(o.reverse);
  return out;
}

export class ProcStorage {
  readonly #cache = new StorageCache();
  /** Writes not sent yet; they go on the next microtask as one batch. */
  #unsent: Batch | null = null;
  #resolveUnsent: ((results: boolean[]) => void) | null = null;
  #rejectUnsent: ((err: unknown) => void) | null = null;
  /** Writes sent and not yet answered (batches and alarm changes). */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** A write nobody looked at that failed since the output gate last looked. */
  #failed: unknown = null;

  get(keyOrKeys: unknown): Promise<unknown> {
    if (Array.isArray(keyOrKeys)) return this.#getMany(checkKeys(keyOrKeys));
    const key = checkKey(keyOrKeys);
    return this.#getMany([key]).then((found) => found.get(key));
  }

  async #getMany(keys: string[]): Promise<Map<string, unknown>> {
    const values = new Map<string, unknown>();
    const missing: string[] = [];
    for (const key of keys) {
      const hit = this.#cache.lookup(key);
      if (hit === undefined) missing.push(key);
      else values.set(key, hit.value);
    }
    if (missing.length > 0) {
      const generation = this.#cache.generation;
      const found = new Map(await this.#read('storage.get', [missing]));
      for (const key of missing) {
        // The value when the read was made; the cache keeps any write made since (fill).
        const value = found.has(key) ? found.get(key) : ABSENT;
        values.set(key, value);
        this.#cache.fill(key, value, generation);
      }
    }
    const out = new Map<string, unknown>();
    for (const key of keys) {
      const value = values.get(key);
      // The cache keeps its own copy: what the caller does to the value changes neither.
      if (value !== ABSENT && value !== undefined) out.set(key, cloneModule().structuredClone(value));
    }
    return out;
  }

  async list(options?: unknown): Promise<Map<string, unknown>> {
    const query = checkList(options);
    // The node must have every earlier write before it can list.
    await this.#flushAndWait();
    // Fresh copies from the node, handed over as they are: a list may be large, so it neither
    // fills the cache nor is copied twice.
    return new Map(await this.#read('storage.list', [query]));
  }

  put(keyOrEntries: unknown, value?: unknown): Promise<void> {
    const ops: WriteOp[] = [];
    if (typeof keyOrEntries === 'object' && keyOrEntries !== null) {
      const entries = Object.entries(keyOrEntries);
      checkKeys(entries.map(([key]) => key));
      for (const [key, v] of entries) ops.push({ put: key, value: snapshot(v, key) });
    } else {
      if (value === undefined) throw new TypeError('put() needs a value (use delete() to remove a key)');
      const key = checkKey(keyOrEntries);
      ops.push({ put: key, value: snapshot(value, key) });
    }
    return this.#hand(this.commit(ops).then(() => undefined));
  }

  delete(keyOrKeys: unknown): Promise<boolean | number> {
    const many = Array.isArray(keyOrKeys);
    const keys = many ? checkKeys(keyOrKeys) : [checkKey(keyOrKeys)];
    const result = this.commit(keys.map((key) => ({ delete: key })));
    return this.#hand(
      many ? result.then((r) => r.filter(Boolean).length) : result.then((r) => r[0] === true),
    );
  }

  deleteAll(): Promise<void> {
    return this.#hand(this.commit([{ deleteAll: true }]).then(() => undefined));
  }

  /**
   * Writes `ops` (checked, values already copied) in the batch of this synchronous stretch, which
   * the node commits as one transaction; the cache shows them at once. Resolves with their results.
   */
  commit(ops: readonly WriteOp[]): Promise<boolean[]> {
    for (const op of ops) {
      if ('put' in op) this.#cache.write(op.put, op.value);
      else if ('delete' in op) this.#cache.write(op.delete, ABSENT);
      else this.#cache.clear();
    }
    if (this.#unsent === null) {
      const batch: Batch = { ops: [], done: null as unknown as Promise<boolean[]>, handed: [] };
      batch.done = new Promise<boolean[]>((resolve, reject) => {
        this.#resolveUnsent = resolve;
        this.#rejectUnsent = reject;
      });
      this.#unsent = batch;
      void Promise.resolve().then(() => this.#send());
    }
    const batch = this.#unsent;
    const from = batch.ops.length;
    batch.ops.push(...ops);
    return batch.done.then((results) => results.slice(from, from + ops.length));
  }

  /** The promise handed to user code for a write of the unsent batch, watched (see Watched). */
  #hand<T>(result: Promise<T>): Promise<T> {
    const handed = watch(result);
    this.#unsent?.handed.push(handed);
    return handed;
  }

  #send(): void {
    const batch = this.#unsent;
    const resolve = this.#resolveUnsent;
    const reject = this.#rejectUnsent;
    this.#unsent = null;
    if (batch === null || resolve === null || reject === null) return;
    const keys: string[] = [];
    let hadDeleteAll = false;
    for (const op of batch.ops) {
      if ('put' in op) keys.push(op.put);
      else if ('delete' in op) keys.push(op.delete);
      else hadDeleteAll = true;
    }
    const sent = hostCall('storage.write', [batch.ops]);
    this.#inFlight.add(sent);
    sent.then(
      (results) => {
        this.#inFlight.delete(sent);
        this.#cache.settle(keys, true, hadDeleteAll);
        resolve(results);
      },
      (err: unknown) => {
        this.#inFlight.delete(sent);
        // Writes the code awaited or caught report their own failure; any other fails the event.
        if (batch.handed.some((w) => !w.watched)) this.#failed ??= err;
        // The node has none of the batch: the cache forgets what the batch wrote.
        this.#cache.settle(keys, false, hadDeleteAll);
        reject(err);
      },
    );
    // A put nobody awaits must not become an unhandled rejection: the output gate reports it.
    batch.done.catch(() => undefined);
  }

  async #flushAndWait(): Promise<void> {
    this.#send();
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * The output gate: resolves once every write issued so far is durable; throws the first write
   * failure nobody looked at since the last call, so a response never claims what was not stored.
   */
  async settled(): Promise<void> {
    if (this.#unsent !== null || this.#inFlight.size > 0) await this.#flushAndWait();
    const failed = this.#failed;
    this.#failed = null;
    if (failed !== null) throw failed;
  }

  /** A read only the node can answer. */
  #read<K extends NodeOpName>(op: K, args: OpArgs<K>): Promise<OpResult<K>> {
    return hostCall(op, args);
  }

  getAlarm(): Promise<number | null> {
    return this.#read('alarm.get', []);
  }

  setAlarm(time: unknown): Promise<void> {
    const at = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : NaN;
    if (!Number.isFinite(at)) throw new TypeError('setAlarm() needs a Date or epoch milliseconds');
    return this.#alarmWrite('alarm.set', [Math.round(at)]);
  }

  deleteAlarm(): Promise<void> {
    return this.#alarmWrite('alarm.delete', []);
  }

  /** Alarm changes are writes too: the output gate waits for them, and reports unwatched failures. */
  #alarmWrite<K extends 'alarm.set' | 'alarm.delete'>(op: K, args: OpArgs<K>): Promise<void> {
    const sent = hostCall(op, args).then(() => undefined);
    this.#inFlight.add(sent);
    const handed = watch(sent);
    sent.then(
      () => void this.#inFlight.delete(sent),
      (err: unknown) => {
        this.#inFlight.delete(sent);
        if (!handed.watched) this.#failed ??= err;
      },
    );
    return handed;
  }

  /** Cache entries and estimated bytes (tests). */
  cacheStats(): { entries: number; bytes: number } {
    return this.#cache.stats();
  }
}

/** A promise for user code that records whether it was looked at; its rejection is never unhandled. */
function watch<T>(result: Promise<T>): Watched<T> {
  const handed = new Watched<T>((resolve, reject) => void result.then(resolve, reject));
  // Unwatched rejections are reported by the output gate, not as unhandled rejections.
  void Promise.prototype.then.call(handed, undefined, () => undefined);
  return handed;
}

/**
 * The value as it is now (later changes to the caller's object do not leak in), or a
 * DataCloneError (as structuredClone and Workers throw) that names the key.
 */
function snapshot(value: unknown, key: string): unknown {
  try {
    return cloneModule().structuredClone(value);
  } catch (err) {
    // Whatever stopped the copy (a function, a symbol, a getter that threw), the value cannot be
    // stored: structuredClone's one failure, named as Workers name it.
    const message = `the value for storage key ${JSON.stringify(key.slice(0, 64))} cannot be stored: ${messageOf(err)}`;
    throw new DOMException(message, 'DataCloneError');
  }
}

export type { ListOptions, WriteOp };
export { checkKey, checkKeys, checkList, snapshot, ABSENT };
