/**
 * API keys. Keys are 32 random bytes; only their SHA-256 is stored, and lookups go by that hash,
 * so no comparison ever touches a stored secret (a fast hash suffices for high-entropy keys).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ProcyonError } from '../errors.js';
import type { ApiKeyRecord, Store } from '../store/index.js';

const PREFIX = 'pk_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function createApiKey(
  store: Store,
  namespace: string | null,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = PREFIX + randomBytes(32).toString('base64url');
  const record: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), namespace, createdAt: Date.now() };
  await store.insertApiKey(record);
  return { key, record };
}

/** Resolves the Authorization header to a key allowed to act on `namespace` (or on everything). */
export async function authorize(
  store: Store,
  header: string | undefined,
  namespace?: string,
): Promise<ApiKeyRecord> {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) {
    throw new ProcyonError('PROCYON_UNAUTHORIZED', 'missing API key: send "Authorization: Bearer <key>"');
  }
  const record = await store.findApiKey(hashKey(m[1]));
  if (!record) throw new ProcyonError('PROCYON_UNAUTHORIZED', 'invalid or revoked API key');
  if (namespace !== undefined && record.namespace !== null && record.namespace !== namespace) {
    throw new ProcyonError('PROCYON_FORBIDDEN', `this API key is not allowed in namespace "${namespace}"`);
  }
  return record;
}
