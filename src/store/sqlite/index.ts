/**
 * SQLite store (better-sqlite3), the embedded default. WAL mode so that readers (the API) never
 * wait for the activation writer; `synchronous=NORMAL` is durable across process crashes, which is
 * the failure this mode is for (a power cut may lose the last transactions, see docs/ARCHITECTURE.md).
 */
import { statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ProcyonError } from '../../errors.js';
import type {
  ActivationQuery,
  ArtifactFormat,
  ActivationRecord,
  ApiKeyRecord,
  FunctionRecord,
  KvEntry,
  KvListQuery,
  NamespaceRecord,
  SecretRecord,
  Store,
  VersionRecord,
} from '../types.js';
import type { ActivationRow, VersionRow, FunctionRow, KvRow } from './rows.js';
import { toFunction, toVersion, toActivation, toKvKey, ACTIVATION_COLUMNS } from './rows.js';
import { MIGRATIONS } from './schema.js';
import { SqliteProcStore } from './procs.js';

/**
 * Below this much free space on the data dir's file system the probe fails, so the node reports
 * unhealthy before SQLite's first SQLITE_FULL rather than after it. (bytes)
 */
const MIN_FREE_BYTES = 1024 * 1024;

/** The database file as opened: a file deleted or replaced later has another identity (or none). */
interface FileIdentity {
  path: string;
  dev: number;
  ino: number;
}

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly procs: SqliteProcStore;
  readonly #file: FileIdentity | null;
  #closed = false;

  private constructor(db: Database.Database, file: FileIdentity | null) {
    this.#db = db;
    this.#file = file;
    this.procs = new SqliteProcStore(db);
  }

  /** Opens (creating if needed) the database file; `:memory:` works for tests. */
  static async create(file: string): Promise<SqliteStore> {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const current = db.pragma('user_version', { simple: true }) as number;
    db.transaction(() => {
      for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
    const st = file === ':memory:' ? null : statSync(file);
    return new SqliteStore(db, st && { path: file, dev: st.dev, ino: st.ino });
  }

  async probe(opts: { write: boolean }): Promise<void> {
    if (this.#file) {
      const { path, dev, ino } = this.#file;
      // SQLite keeps writing to an unlinked file without complaint: only its path tells.
      const now = statSync(path, { throwIfNoEntry: false });
      if (!now || now.dev !== dev || now.ino !== ino)
        throw new ProcyonError(
          'PROCYON_STORAGE_UNAVAILABLE',
          `the database file ${path} was deleted or replaced while the node was running; writes since then are lost at exit: restore it from a backup (or start afresh) and restart the node`,
          { details: { reason: 'database file deleted or replaced', permanent: true } },
        );
      const fs = statfsSync(dirname(path));
      if (fs.bavail * fs.bsize < MIN_FREE_BYTES)
        throw new ProcyonError(
          'PROCYON_STORAGE_UNAVAILABLE',
          `the file system of ${dirname(path)} has ${fs.bavail * fs.bsize} bytes free, under ${MIN_FREE_BYTES}`,
          { details: { reason: 'disk (almost) full' } },
        );
    }
    if (opts.write)
      this.#db
        .prepare(
          'INSERT INTO health_probe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at',
        )
        .run(Date.now());
  }

  async ensureNamespace(name: string): Promise<{ namespace: NamespaceRecord; created: boolean }> {
    const now = Date.now();
    const info = this.#db
      .prepare('INSERT INTO namespaces (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING')
      .run(name, now);
    const ns = await this.getNamespace(name);
    // Cannot happen: the row was just inserted and namespaces are never deleted concurrently.
    if (!ns) throw new Error(`namespace ${name} vanished`);
    return { namespace: ns, created: info.changes === 1 };
  }

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    const row = this.#db.prepare('SELECT name, created_at FROM namespaces WHERE name = ?').get(name) as
      { name: string; created_at: number } | undefined;
    return row && { name: row.name, createdAt: row.created_at };
  }

  async listNamespaces(): Promise<NamespaceRecord[]> {
    const rows = this.#db.prepare('SELECT name, created_at FROM namespaces ORDER BY name').all() as {
      name: string;
      created_at: number;
    }[];
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    this.#db
      .prepare('INSERT INTO api_keys (id, hash, namespace, created_at) VALUES (?, ?, ?, ?)')
      .run(key.id, key.hash, key.namespace, key.createdAt);
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#db
      .prepare('SELECT id, hash, namespace, created_at FROM api_keys WHERE hash = ? AND revoked_at IS NULL')
      .get(hash) as { id: string; hash: string; namespace: string | null; created_at: number } | undefined;
    return row && { id: row.id, hash: row.hash, namespace: row.namespace, createdAt: row.created_at };
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = this.#db
      .prepare('SELECT id, hash, namespace, created_at, revoked_at FROM api_keys ORDER BY created_at, id')
      .all() as {
      id: string;
      hash: string;
      namespace: string | null;
      created_at: number;
      revoked_at: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      hash: r.hash,
      namespace: r.namespace,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return (
      this.#db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id)
        .changes === 1
    );
  }

  async countApiKeys(): Promise<number> {
    return (this.#db.prepare('SELECT count(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  async deploy(version: VersionRecord): Promise<{ fn: FunctionRecord; created: boolean; changed: boolean }> {
    const run = this.#db.transaction(() => {
      const now = version.createdAt;
      this.#db
        .prepare(
          `INSERT INTO versions (namespace, fn, id, code, config, style, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(namespace, fn, id) DO NOTHING`,
        )
        .run(
          version.namespace,
          version.fn,
          version.id,
          version.code,
          JSON.stringify(version.config),
          version.style,
          now,
        );
      const before = this.#db
        .prepare('SELECT latest FROM functions WHERE namespace = ? AND name = ?')
        .get(version.namespace, version.fn) as { latest: string } | undefined;
      if (!before) {
        this.#db
          .prepare(
            'INSERT INTO functions (namespace, name, latest, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(version.namespace, version.fn, version.id, now, now);
      } else if (before.latest !== version.id) {
        this.#db
          .prepare('UPDATE functions SET latest = ?, updated_at = ? WHERE namespace = ? AND name = ?')
          .run(version.id, now, version.namespace, version.fn);
      }
      const fn = this.#db
        .prepare('SELECT * FROM functions WHERE namespace = ? AND name = ?')
        .get(version.namespace, version.fn) as FunctionRow;
      return { fn: toFunction(fn), created: !before, changed: before?.latest !== version.id };
    });
    return run();
  }

  async getFunction(namespace: string, name: string): Promise<FunctionRecord | undefined> {
    const row = this.#db
      .prepare('SELECT * FROM functions WHERE namespace = ? AND name = ?')
      .get(namespace, name) as FunctionRow | undefined;
    return row && toFunction(row);
  }

  async listFunctions(namespace?: string): Promise<FunctionRecord[]> {
    const rows = (
      namespace === undefined
        ? this.#db.prepare('SELECT * FROM functions ORDER BY namespace, name').all()
        : this.#db.prepare('SELECT * FROM functions WHERE namespace = ? ORDER BY name').all(namespace)
    ) as FunctionRow[];
    return rows.map(toFunction);
  }

  async getVersion(namespace: string, fn: string, id: string): Promise<VersionRecord | undefined> {
    const row = this.#db
      .prepare('SELECT * FROM versions WHERE namespace = ? AND fn = ? AND id = ?')
      .get(namespace, fn, id) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async listVersions(namespace: string, fn: string): Promise<VersionRecord[]> {
    const rows = this.#db
      .prepare('SELECT * FROM versions WHERE namespace = ? AND fn = ? ORDER BY created_at DESC, rowid DESC')
      .all(namespace, fn) as VersionRow[];
    return rows.map(toVersion);
  }

  async deleteFunction(namespace: string, name: string): Promise<boolean> {
    return this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM versions WHERE namespace = ? AND fn = ?').run(namespace, name);
      this.#db.prepare('DELETE FROM secrets WHERE namespace = ? AND fn = ?').run(namespace, name);
      return (
        this.#db.prepare('DELETE FROM functions WHERE namespace = ? AND name = ?').run(namespace, name)
          .changes === 1
      );
    })();
  }

  async insertActivations(records: readonly ActivationRecord[]): Promise<void> {
    const insert = this.#db.prepare(
      `INSERT INTO activations (${ACTIVATION_COLUMNS}, logs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO NOTHING`,
    );
    this.#db.transaction(() => {
      for (const a of records) {
        insert.run(
          a.id,
          a.namespace,
          a.fn,
          a.version,
          a.trigger,
          a.start,
          a.durationMs,
          a.billedMs,
          a.memoryMb,
          a.gbSeconds,
          a.cpuMs,
          a.cold ? 1 : 0,
          a.status,
          a.errorCode,
          a.logsTruncated ? 1 : 0,
          a.parentId ?? null,
          a.instance ?? null,
          JSON.stringify(a.logs),
        );
      }
    })();
  }

  async listActivations(q: ActivationQuery): Promise<ActivationRecord[]> {
    const where = ['namespace = ?'];
    const args: (string | number)[] = [q.namespace];
    const filters: [string, string | number | undefined][] = [
      ['fn = ?', q.fn],
      ['status = ?', q.status],
      ['start >= ?', q.since],
      ['start < ?', q.until],
    ];
    for (const [clause, value] of filters) {
      if (value === undefined) continue;
      where.push(clause);
      args.push(value);
    }
    args.push(Math.min(Math.max(q.limit ?? 50, 1), 1000));
    const rows = this.#db
      .prepare(
        `SELECT ${ACTIVATION_COLUMNS} FROM activations WHERE ${where.join(' AND ')}
         ORDER BY start DESC, rowid DESC LIMIT ?`,
      )
      .all(...args) as ActivationRow[];
    return rows.map(toActivation);
  }

  async getActivation(namespace: string, id: string): Promise<ActivationRecord | undefined> {
    const row = this.#db
      .prepare(`SELECT ${ACTIVATION_COLUMNS}, logs FROM activations WHERE namespace = ? AND id = ?`)
      .get(namespace, id) as ActivationRow | undefined;
    return row && toActivation(row);
  }

  async putSecret(secret: SecretRecord): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO secrets (namespace, fn, name, sealed, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(namespace, fn, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      )
      .run(secret.namespace, secret.fn, secret.name, Buffer.from(secret.sealed), secret.updatedAt);
  }

  async listSecrets(namespace: string, fn: string): Promise<SecretRecord[]> {
    const rows = this.#db
      .prepare('SELECT name, sealed, updated_at FROM secrets WHERE namespace = ? AND fn = ? ORDER BY name')
      .all(namespace, fn) as { name: string; sealed: Buffer; updated_at: number }[];
    return rows.map((r) => ({
      namespace,
      fn,
      name: r.name,
      sealed: new Uint8Array(r.sealed),
      updatedAt: r.updated_at,
    }));
  }

  async deleteSecret(namespace: string, fn: string, name: string): Promise<boolean> {
    return (
      this.#db
        .prepare('DELETE FROM secrets WHERE namespace = ? AND fn = ? AND name = ?')
        .run(namespace, fn, name).changes === 1
    );
  }

  async kvGet(namespace: string, kv: string, key: string, now: number): Promise<KvEntry | undefined> {
    const row = this.#db
      .prepare(
        `SELECT key, value, metadata, expires_at FROM kv_entries
         WHERE namespace = ? AND kv = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)`,
      )
      .get(namespace, kv, key, now) as KvRow | undefined;
    return row && { ...toKvKey(row), value: new Uint8Array(row.value) };
  }

  async kvPut(namespace: string, kv: string, e: KvEntry): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO kv_entries (namespace, kv, key, value, metadata, expires_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(namespace, kv, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
           expires_at = excluded.expires_at`,
      )
      .run(namespace, kv, e.key, Buffer.from(e.value), e.metadata, e.expiresAt);
  }

  async kvDelete(namespace: string, kv: string, key: string): Promise<void> {
    this.#db
      .prepare('DELETE FROM kv_entries WHERE namespace = ? AND kv = ? AND key = ?')
      .run(namespace, kv, key);
  }

  async kvList(q: KvListQuery, now: number): Promise<Omit<KvEntry, 'value'>[]> {
    // SQLite's substr counts code points, so the prefix length is counted the same way.
    const lower = q.after !== undefined && q.after >= (q.prefix ?? '') ? q.after : (q.prefix ?? '');
    const inclusive = !(q.after !== undefined && q.after >= (q.prefix ?? ''));
    const rows = this.#db
      .prepare(
        `SELECT key, metadata, expires_at FROM kv_entries
         WHERE namespace = ? AND kv = ? AND key ${inclusive ? '>=' : '>'} ? AND substr(key, 1, ?) = ?
           AND (expires_at IS NULL OR expires_at > ?)
         ORDER BY key LIMIT ?`,
      )
      .all(q.namespace, q.kv, lower, [...(q.prefix ?? '')].length, q.prefix ?? '', now, q.limit) as Omit<
      KvRow,
      'value'
    >[];
    return rows.map(toKvKey);
  }

  async kvSweep(now: number): Promise<number> {
    return this.#db
      .prepare('DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= ?')
      .run(now).changes;
  }

  async putArtifact(hash: string, format: ArtifactFormat, bytes: Uint8Array): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO artifacts (hash, format, size, bytes, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      )
      .run(
        hash,
        format,
        bytes.byteLength,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        Date.now(),
      );
  }

  async getArtifact(hash: string): Promise<{ format: ArtifactFormat; bytes: Uint8Array } | null> {
    const row = this.#db.prepare('SELECT format, bytes FROM artifacts WHERE hash = ?').get(hash) as
      { format: ArtifactFormat; bytes: Buffer } | undefined;
    return row ? { format: row.format, bytes: row.bytes } : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
