/**
 * The in-isolate cache of a process instance's storage (storage.ts). The instance is the only
 * writer of its storage, so what it read or wrote stays true until it writes again: reads of
 * cached keys need no round trip. Keys written by a batch the node has not yet answered are
 * _dirty_: they are the only copy of a write in flight, so they are never evicted (a read would
 * otherwise reach the node before the write does). Clean entries go oldest-used first once the
 * cache passes its bounds, which keep a large instance within its isolate's heap.
 *
 * Snapshot rule (see index.ts): this module's top level runs while the snapshot is made.
 */

/** Cached as known to be absent. */
export const ABSENT: unique symbol = Symbol('absent');

/** Most entries kept. */
const MAX_ENTRIES = 20_000;
/** Most bytes kept, by the rough estimate below. (bytes) */
const MAX_BYTES = 16 * 1024 * 1024;
/** Overhead counted per entry besides its key and value. (bytes) */
const ENTRY_OVERHEAD = 64;
/** Nodes the size estimate visits in one value before it stops counting. */
const ESTIMATE_NODES = 4096;

/** A rough size of a value in memory, cheap and bounded (values are ≤ 128 KiB serialised). */
export function estimateSize(value: unknown): number {
  let bytes = 0;
  let visited = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0 && visited++ < ESTIMATE_NODES) {
    const item = stack.pop();
    if (typeof item === 'string') bytes += 2 * item.length;
    else if (item === null || typeof item !== 'object') bytes += 8;
    else if (seen.has(item)) continue;
    else {
      seen.add(item);
      bytes += 32;
      if (ArrayBuffer.isView(item)) bytes += item.byteLength;
      else if (item instanceof ArrayBuffer) bytes += item.byteLength;
      else if (item instanceof Map) for (const pair of item) stack.push(pair[0], pair[1]);
      else if (item instanceof Set) for (const member of item) stack.push(member);
      else for (const key of Object.keys(item)) stack.push(key, (item as Record<string, unknown>)[key]);
    }
  }
  return bytes;
}

interface Entry {
  value: unknown;
  size: number;
}

export class StorageCache {
  /** In order of last use: the first is the next to evict. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  /** Per key, how many unanswered batches write it. */
  readonly #dirty = new Map<string, number>();
  /** After a deleteAll: every key not in the cache is absent. */
  #complete = false;
  /** Changes when what is cached may no longer match what a read in flight will bring back. */
  #generation = 0;

  get generation(): number {
    return this.#generation;
  }

  /** The cached value (or ABSENT), or undefined when only the node knows. */
  lookup(key: string): { value: unknown } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return this.#complete ? { value: ABSENT } : undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return { value: entry.value };
  }

  /** What a read brought back, unless a write or a reset came first. */
  fill(key: string, value: unknown, generation: number): void {
    if (generation !== this.#generation || this.#entries.has(key)) return;
    this.#set(key, value);
    this.trim();
  }

  /** A write made now, to be sent in a batch: dirty until `settle`. */
  write(key: string, value: unknown): void {
    this.#set(key, value);
    this.#dirty.set(key, (this.#dirty.get(key) ?? 0) + 1);
  }

  /** A deleteAll made now: nothing is stored but what is written after it. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#complete = true;
    this.#generation++;
  }

  /**
   * A batch the node answered. When it failed, the node has none of it: its keys (all keys, for a
   * deleteAll) are forgotten, so the next read asks the node, except keys a later batch writes.
   */
  settle(keys: readonly string[], ok: boolean, hadDeleteAll: boolean): void {
    for (const key of keys) {
      const count = (this.#dirty.get(key) ?? 1) - 1;
      if (count > 0) this.#dirty.set(key, count);
      else this.#dirty.delete(key);
    }
    if (!ok) {
      this.#complete = false;
      this.#generation++;
      const lost = hadDeleteAll ? [...this.#entries.keys()] : keys;
      for (const key of lost) if (!this.#dirty.has(key)) this.#drop(key);
    }
    this.trim();
  }

  /** Evicts clean entries, least recently used first, until within the bounds. */
  trim(): void {
    if (this.#entries.size <= MAX_ENTRIES && this.#bytes <= MAX_BYTES) return;
    for (const key of [...this.#entries.keys()]) {
      if (this.#entries.size <= MAX_ENTRIES && this.#bytes <= MAX_BYTES) break;
      if (this.#dirty.has(key)) continue;
      this.#drop(key);
      // An evicted key is no longer known to be absent or present.
      this.#complete = false;
    }
  }

  /** Entries and estimated bytes held (for tests and diagnostics). */
  stats(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }

  #set(key: string, value: unknown): void {
    this.#drop(key);
    const size = ENTRY_OVERHEAD + 2 * key.length + (value === ABSENT ? 0 : estimateSize(value));
    this.#entries.set(key, { value, size });
    this.#bytes += size;
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }
}
