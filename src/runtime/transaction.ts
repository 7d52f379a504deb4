/**
 * `ctx.storage.transaction(fn)`: `fn` gets a `txn` with the storage methods; its writes are kept
 * aside (reads see them) and go to the node as one batch, committed in one transaction, when `fn`
 * returns. If `fn` throws or calls `txn.rollback()`, none of them is sent. No other event of the
 * instance runs meanwhile (process.ts), so none sees a half-done transaction.
 *
 * Snapshot rule (see index.ts): this module's top level runs while the snapshot is made.
 */
import { compareKeys } from './keys.js';
import { cloneModule } from './lazy.js';
import {
  ABSENT,
  checkKey,
  checkKeys,
  checkList,
  snapshot,
  type ListOptions,
  type ProcStorage,
  type WriteOp,
} from './storage.js';

function inRange(key: string, q: ListOptions): boolean {
  if (q.prefix !== undefined && !key.startsWith(q.prefix)) return false;
  if (q.start !== undefined && compareKeys(key, q.start) < 0) return false;
  if (q.end !== undefined && compareKeys(key, q.end) >= 0) return false;
  return true;
}

export async function runTransaction(storage: ProcStorage, fn: unknown): Promise<unknown> {
  if (typeof fn !== 'function') throw new TypeError('transaction() needs a function');
  const ops: WriteOp[] = [];
  /** The transaction's own view: key → value, or ABSENT. */
  const overlay = new Map<string, unknown>();
  let cleared = false;
  let rolledBack = false;
  let open = true;
  const live = (): void => {
    if (!open) throw new Error('this transaction has ended');
  };
  const readOne = async (key: string): Promise<unknown> => {
    if (overlay.has(key)) {
      const value = overlay.get(key);
      return value === ABSENT ? undefined : cloneModule().structuredClone(value);
    }
    return cleared ? undefined : storage.get(key);
  };
  const txn = {
    async get(keyOrKeys: unknown): Promise<unknown> {
      live();
      if (!Array.isArray(keyOrKeys)) return readOne(checkKey(keyOrKeys));
      const out = new Map<string, unknown>();
      for (const key of checkKeys(keyOrKeys)) {
        const value = await readOne(key);
        if (value !== undefined) out.set(key, value);
      }
      return out;
    },
    async put(keyOrEntries: unknown, value?: unknown): Promise<void> {
      live();
      const entries: [string, unknown][] =
        typeof keyOrEntries === 'object' && keyOrEntries !== null
          ? Object.entries(keyOrEntries)
          : [[checkKey(keyOrEntries), value]];
      checkKeys(entries.map(([key]) => key));
      for (const [key, v] of entries) {
        if (v === undefined) throw new TypeError('put() needs a value (use delete() to remove a key)');
        const copy = snapshot(v, key);
        overlay.set(key, copy);
        ops.push({ put: key, value: copy });
      }
    },
    async delete(keyOrKeys: unknown): Promise<boolean | number> {
      live();
      const many = Array.isArray(keyOrKeys);
      const keys = many ? checkKeys(keyOrKeys) : [checkKey(keyOrKeys)];
      let existed = 0;
      for (const key of keys) {
        if ((await readOne(key)) !== undefined) existed++;
        overlay.set(key, ABSENT);
        ops.push({ delete: key });
      }
      return many ? existed : existed > 0;
    },
    async deleteAll(): Promise<void> {
      live();
      cleared = true;
      overlay.clear();
      ops.length = 0;
      ops.push({ deleteAll: true });
    },
    async list(options?: unknown): Promise<Map<string, unknown>> {
      live();
      const q = checkList(options);
      const merged = new Map<string, unknown>();
      if (!cleared) {
        const { limit: _limit, reverse: _reverse, ...range } = q;
        for (const [key, value] of await storage.list(range)) merged.set(key, value);
      }
      for (const [key, value] of overlay) {
        if (!inRange(key, q)) continue;
        if (value === ABSENT) merged.delete(key);
        else merged.set(key, cloneModule().structuredClone(value));
      }
      const keys = [...merged.keys()].sort(compareKeys);
      if (q.reverse) keys.reverse();
      const out = new Map<string, unknown>();
      for (const key of keys.slice(0, q.limit ?? keys.length)) out.set(key, merged.get(key));
      return out;
    },
    rollback(): void {
      live();
      rolledBack = true;
    },
  };
  try {
    const result: unknown = await (fn as (t: typeof txn) => unknown)(txn);
    open = false;
    if (!rolledBack && ops.length > 0) await storage.commit(ops);
    return result;
  } finally {
    open = false;
  }
}
