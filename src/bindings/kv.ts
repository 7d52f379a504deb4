/**
 * KV namespaces, node side: the operations behind `env.<BINDING>.get/put/delete/list` in a
 * function. Each call names a binding; the calling version must declare it, and it resolves to
 * a KV namespace of the function's own Procyon namespace. Limits follow Workers KV.
 */
import { ProcyonError } from '../errors.js';
import type { KvListOptions, KvListResult, KvPutOptions, KvRecord } from '../sandbox/ops/index.js';
import type { KvEntry, Store } from '../store/index.js';

export const KV_LIMITS = {
  keyBytes: 512,
  valueBytes: 25 * 1024 * 1024,
  metadataBytes: 1024,
  /** Shortest TTL accepted. (s) */
  minTtlSeconds: 60,
  listMax: 1000,
} as const;

export interface KvTarget {
  namespace: string;
  kv: string;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('KV keys must be non-empty strings');
  if (Buffer.byteLength(key) > KV_LIMITS.keyBytes)
    throw new TypeError(`KV keys are at most ${KV_LIMITS.keyBytes} bytes`);
  if (key === '.' || key === '..') throw new TypeError('"." and ".." are not valid KV keys');
  return key;
}

function expiry(opts: KvPutOptions, now: number): number | null {
  if (opts.expiration !== undefined) {
    if (!Number.isFinite(opts.expiration))
      throw new TypeError('expiration must be a number of seconds since epoch');
    if (opts.expiration * 1000 < now + KV_LIMITS.minTtlSeconds * 1000) {
      throw new TypeError(`expiration must be at least ${KV_LIMITS.minTtlSeconds} seconds in the future`);
    }
    return Math.floor(opts.expiration * 1000);
  }
  if (opts.expirationTtl !== undefined) {
    if (!Number.isFinite(opts.expirationTtl) || opts.expirationTtl < KV_LIMITS.minTtlSeconds) {
      throw new TypeError(`expirationTtl must be at least ${KV_LIMITS.minTtlSeconds} seconds`);
    }
    return now + Math.floor(opts.expirationTtl * 1000);
  }
  return null;
}

export class KvService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(t: KvTarget, key: unknown): Promise<KvRecord | null> {
    const entry = await this.store.kvGet(t.namespace, t.kv, checkKey(key), this.clock());
    return entry
      ? { value: entry.value, metadata: entry.metadata === null ? null : JSON.parse(entry.metadata) }
      : null;
  }

  async put(t: KvTarget, key: unknown, value: unknown, opts: KvPutOptions = {}): Promise<void> {
    if (!(value instanceof Uint8Array))
      throw new TypeError('KV values must be bytes (the runtime encodes strings)');
    if (value.byteLength > KV_LIMITS.valueBytes) {
      throw new ProcyonError(
        'PROCYON_PAYLOAD_TOO_LARGE',
        `KV values are at most ${KV_LIMITS.valueBytes} bytes`,
      );
    }
    const metadata = opts.metadata === undefined ? null : JSON.stringify(opts.metadata);
    if (metadata !== null && Buffer.byteLength(metadata) > KV_LIMITS.metadataBytes) {
      throw new TypeError(`KV metadata is at most ${KV_LIMITS.metadataBytes} bytes of JSON`);
    }
    const entry: KvEntry = { key: checkKey(key), value, metadata, expiresAt: expiry(opts, this.clock()) };
    await this.store.kvPut(t.namespace, t.kv, entry);
  }

  async delete(t: KvTarget, key: unknown): Promise<void> {
    await this.store.kvDelete(t.namespace, t.kv, checkKey(key));
  }

  /** Workers KV's list shape (KvListResult); the cursor is the last key returned, base64url-encoded. */
  async list(t: KvTarget, opts: KvListOptions = {}): Promise<KvListResult> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? KV_LIMITS.listMax)), KV_LIMITS.listMax);
    const after = opts.cursor ? Buffer.from(opts.cursor, 'base64url').toString('utf8') : undefined;
    const rows = await this.store.kvList(
      {
        namespace: t.namespace,
        kv: t.kv,
        limit: limit + 1,
        ...(opts.prefix ? { prefix: opts.prefix } : {}),
        ...(after ? { after } : {}),
      },
      this.clock(),
    );
    const page = rows.slice(0, limit);
    const keys = page.map((r) => ({
      name: r.key,
      ...(r.expiresAt !== null ? { expiration: Math.floor(r.expiresAt / 1000) } : {}),
      ...(r.metadata !== null ? { metadata: JSON.parse(r.metadata) as unknown } : {}),
    }));
    const complete = rows.length <= limit;
    const last = page.at(-1)?.key;
    return {
      keys,
      list_complete: complete,
      ...(!complete && last ? { cursor: Buffer.from(last).toString('base64url') } : {}),
    };
  }
}
