/** Row shapes of the SQLite schema and their mapping to the Store's records. */
import type { ActivationRecord, FunctionRecord, KvEntry, VersionRecord } from '../types.js';

export interface ActivationRow {
  id: string;
  namespace: string;
  fn: string;
  version: string;
  trigger: ActivationRecord['trigger'];
  start: number;
  duration_ms: number;
  billed_ms: number;
  memory_mb: number;
  gb_seconds: number;
  cpu_ms: number;
  cold: number;
  status: ActivationRecord['status'];
  error_code: string | null;
  logs?: string;
  logs_truncated: number;
  parent_id: string | null;
  instance: string | null;
}

export interface VersionRow {
  namespace: string;
  fn: string;
  id: string;
  code: string;
  config: string;
  style: VersionRecord['style'];
  created_at: number;
}

export interface FunctionRow {
  namespace: string;
  name: string;
  latest: string;
  created_at: number;
  updated_at: number;
}

export const toFunction = (r: FunctionRow): FunctionRecord => ({
  namespace: r.namespace,
  name: r.name,
  latest: r.latest,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toVersion = (r: VersionRow): VersionRecord => ({
  namespace: r.namespace,
  fn: r.fn,
  id: r.id,
  code: r.code,
  config: JSON.parse(r.config) as VersionRecord['config'],
  style: r.style,
  createdAt: r.created_at,
});

export const toActivation = (r: ActivationRow): ActivationRecord => ({
  id: r.id,
  namespace: r.namespace,
  fn: r.fn,
  version: r.version,
  trigger: r.trigger,
  start: r.start,
  durationMs: r.duration_ms,
  billedMs: r.billed_ms,
  memoryMb: r.memory_mb,
  gbSeconds: r.gb_seconds,
  cpuMs: r.cpu_ms,
  cold: r.cold === 1,
  status: r.status,
  errorCode: r.error_code,
  logs: r.logs === undefined ? [] : (JSON.parse(r.logs) as ActivationRecord['logs']),
  logsTruncated: r.logs_truncated === 1,
  parentId: r.parent_id,
  instance: r.instance,
});

export interface KvRow {
  key: string;
  value: Buffer;
  metadata: string | null;
  expires_at: number | null;
}

export const toKvKey = (r: Omit<KvRow, 'value'>): Omit<KvEntry, 'value'> => ({
  key: r.key,
  metadata: r.metadata,
  expiresAt: r.expires_at,
});

export const ACTIVATION_COLUMNS =
  'id, namespace, fn, version, trigger, start, duration_ms, billed_ms, memory_mb, gb_seconds, cpu_ms, cold, status, error_code, logs_truncated, parent_id, instance';
