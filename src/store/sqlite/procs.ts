/**
 * Process instances' durable state in SQLite (docs/processes.md). Keys are TEXT compared with the
 * BINARY collation, which for UTF-8 is byte order, the order `list` promises. Every `write` is one
 * transaction that also keeps `proc_instances.storage_bytes` current (key bytes + value bytes), so
 * the size limit is checked without summing the instance's storage, and a node killed mid-write
 * leaves all of a batch or none of it.
 */
import type Database from 'better-sqlite3';
import { ProcyonError } from '../../errors.js';
import type {
  ProcAlarm,
  ProcInstanceRecord,
  ProcKey,
  ProcListQuery,
  ProcMessageRecord,
  ProcStore,
  ProcWriteOp,
} from '../types.js';

const ID = 'namespace = ? AND class = ? AND name = ?';

interface InstanceRow {
  namespace: string;
  class: string;
  name: string;
  created_at: number;
  last_active_at: number;
  storage_bytes: number;
  alarm_at: number | null;
}

const toInstance = (r: InstanceRow): ProcInstanceRecord => ({
  namespace: r.namespace,
  className: r.class,
  name: r.name,
  createdAt: r.created_at,
  lastActiveAt: r.last_active_at,
  storageBytes: r.storage_bytes,
  alarmAt: r.alarm_at,
});

const INSTANCE_SELECT = `SELECT i.namespace, i.class, i.name, i.created_at, i.last_active_at, i.storage_bytes,
  a.at AS alarm_at FROM proc_instances i
  LEFT JOIN proc_alarms a ON a.namespace = i.namespace AND a.class = i.class AND a.name = i.name`;

/** The least string above every string that starts with `prefix`; null when there is none. */
export function prefixEnd(prefix: string): string | null {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const last = (chars.pop() as string).codePointAt(0) as number;
    let next = last + 1;
    // Surrogate code points cannot stand alone in a string: skip over them.
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return chars.join('') + String.fromCodePoint(next);
  }
  return null;
}

const entrySize = (key: string, value: Uint8Array | number): number =>
  Buffer.byteLength(key) + (typeof value === 'number' ? value : value.byteLength);

export class SqliteProcStore implements ProcStore {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  async get(id: ProcKey, keys: readonly string[]): Promise<[string, Uint8Array][]> {
    const one = this.#stmt(`SELECT value FROM proc_storage WHERE ${ID} AND key = ?`);
    const out: [string, Uint8Array][] = [];
    for (const key of keys) {
      const row = one.get(id.namespace, id.className, id.name, key) as { value: Buffer } | undefined;
      if (row) out.push([key, row.value]);
    }
    return out;
  }

  async list(id: ProcKey, q: ProcListQuery): Promise<[string, Uint8Array][]> {
    const where = [ID];
    const args: (string | number)[] = [id.namespace, id.className, id.name];
    const bound = (clause: string, value: string | null | undefined): void => {
      if (value === undefined || value === null) return;
      where.push(clause);
      args.push(value);
    };
    if (q.prefix) {
      bound('key >= ?', q.prefix);
      bound('key < ?', prefixEnd(q.prefix));
    }
    bound('key >= ?', q.start);
    bound('key < ?', q.end);
    let sql = `SELECT key, value FROM proc_storage WHERE ${where.join(' AND ')} ORDER BY key ${q.reverse ? 'DESC' : 'ASC'}`;
    if (q.limit !== undefined) {
      sql += ' LIMIT ?';
      args.push(q.limit);
    }
    const rows = this.#stmt(sql).all(...args) as { key: string; value: Buffer }[];
    return rows.map((r) => [r.key, r.value]);
  }

  async write(id: ProcKey, ops: readonly ProcWriteOp[], maxBytes: number): Promise<boolean[]> {
    const ids = [id.namespace, id.className, id.name] as const;
    const sizeOf = this.#stmt(
      `SELECT length(CAST(key AS BLOB)) + length(value) AS n FROM proc_storage WHERE ${ID} AND key = ?`,
    );
    const put = this.#stmt(
      'INSERT INTO proc_storage (namespace, class, name, key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value',
    );
    const del = this.#stmt(`DELETE FROM proc_storage WHERE ${ID} AND key = ?`);
    const delAll = this.#stmt(`DELETE FROM proc_storage WHERE ${ID}`);
    const run = this.#db.transaction((): boolean[] => {
      const now = Date.now();
      this.#ensure(id, now);
      let delta = 0;
      const results = ops.map((op): boolean => {
        if ('put' in op) {
          const old = sizeOf.get(...ids, op.put) as { n: number } | undefined;
          put.run(...ids, op.put, op.value);
          delta += entrySize(op.put, op.value) - (old?.n ?? 0);
          return true;
        }
        if ('delete' in op) {
          const old = sizeOf.get(...ids, op.delete) as { n: number } | undefined;
          if (!old) return false;
          del.run(...ids, op.delete);
          delta -= old.n;
          return true;
        }
        const existed = delAll.run(...ids).changes > 0;
        delta = -this.#bytes(id);
        return existed;
      });
      const total = this.#bytes(id) + delta;
      if (delta > 0 && total > maxBytes) {
        throw new ProcyonError(
          'PROCYON_STORAGE_LIMIT',
          `the instance's storage would grow to ${total} bytes, over its limit of ${maxBytes}`,
        );
      }
      this.#stmt(`UPDATE proc_instances SET storage_bytes = ?, last_active_at = ? WHERE ${ID}`).run(
        Math.max(0, total),
        now,
        ...ids,
      );
      return results;
    });
    return run();
  }

  #bytes(id: ProcKey): number {
    const row = this.#stmt(`SELECT storage_bytes FROM proc_instances WHERE ${ID}`).get(
      id.namespace,
      id.className,
      id.name,
    ) as { storage_bytes: number } | undefined;
    return row?.storage_bytes ?? 0;
  }

  #ensure(id: ProcKey, now: number): void {
    this.#stmt(
      `INSERT INTO proc_instances (namespace, class, name, created_at, last_active_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ).run(id.namespace, id.className, id.name, now, now);
  }

  async touch(id: ProcKey, at: number): Promise<void> {
    this.#stmt(
      `INSERT INTO proc_instances (namespace, class, name, created_at, last_active_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET last_active_at = max(last_active_at, excluded.last_active_at)`,
    ).run(id.namespace, id.className, id.name, at, at);
  }

  async getInstance(id: ProcKey): Promise<ProcInstanceRecord | undefined> {
    const row = this.#stmt(`${INSTANCE_SELECT} WHERE i.namespace = ? AND i.class = ? AND i.name = ?`).get(
      id.namespace,
      id.className,
      id.name,
    ) as InstanceRow | undefined;
    return row && toInstance(row);
  }

  async listInstances(namespace: string, className?: string): Promise<ProcInstanceRecord[]> {
    const rows = (
      className === undefined
        ? this.#stmt(`${INSTANCE_SELECT} WHERE i.namespace = ? ORDER BY i.class, i.name`).all(namespace)
        : this.#stmt(`${INSTANCE_SELECT} WHERE i.namespace = ? AND i.class = ? ORDER BY i.name`).all(
            namespace,
            className,
          )
    ) as InstanceRow[];
    return rows.map(toInstance);
  }

  async deleteInstance(id: ProcKey): Promise<boolean> {
    const ids = [id.namespace, id.className, id.name] as const;
    return this.#db.transaction((): boolean => {
      let changes = this.#stmt(`DELETE FROM proc_storage WHERE ${ID}`).run(...ids).changes;
      changes += this.#stmt(`DELETE FROM proc_alarms WHERE ${ID}`).run(...ids).changes;
      changes += this.#stmt(`DELETE FROM proc_instances WHERE ${ID}`).run(...ids).changes;
      return changes > 0;
    })();
  }

  async setAlarm(id: ProcKey, at: number): Promise<void> {
    this.#db.transaction(() => {
      this.#ensure(id, Date.now());
      this.#stmt(
        `INSERT INTO proc_alarms (namespace, class, name, at) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET at = excluded.at`,
      ).run(id.namespace, id.className, id.name, at);
    })();
  }

  async getAlarm(id: ProcKey): Promise<number | null> {
    const row = this.#stmt(`SELECT at FROM proc_alarms WHERE ${ID}`).get(
      id.namespace,
      id.className,
      id.name,
    ) as { at: number } | undefined;
    return row?.at ?? null;
  }

  async deleteAlarm(id: ProcKey): Promise<void> {
    this.#stmt(`DELETE FROM proc_alarms WHERE ${ID}`).run(id.namespace, id.className, id.name);
  }

  async listAlarms(): Promise<ProcAlarm[]> {
    const rows = this.#stmt('SELECT namespace, class, name, at FROM proc_alarms ORDER BY at').all() as {
      namespace: string;
      class: string;
      name: string;
      at: number;
    }[];
    return rows.map((r) => ({ namespace: r.namespace, className: r.class, name: r.name, at: r.at }));
  }

  async enqueueMessage(m: ProcMessageRecord): Promise<void> {
    this.#stmt(
      `INSERT INTO proc_messages (id, namespace, class, name, sender, parent_id, message, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(m.id, m.namespace, m.className, m.name, m.from, m.parentId, m.message, m.createdAt);
  }

  async deleteMessage(id: string): Promise<void> {
    this.#stmt('DELETE FROM proc_messages WHERE id = ?').run(id);
  }

  async listMessages(): Promise<ProcMessageRecord[]> {
    const rows = this.#stmt(
      'SELECT id, namespace, class, name, sender, parent_id, message, created_at FROM proc_messages ORDER BY seq',
    ).all() as {
      id: string;
      namespace: string;
      class: string;
      name: string;
      sender: string;
      parent_id: string | null;
      message: Buffer;
      created_at: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      namespace: r.namespace,
      className: r.class,
      name: r.name,
      from: r.sender,
      parentId: r.parent_id,
      message: r.message,
      createdAt: r.created_at,
    }));
  }
}
