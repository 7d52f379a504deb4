/**
 * The Store boundary: durable state of a node (namespaces, API keys, functions and their immutable
 * versions, activation records). SQLite is the embedded default; PostgreSQL comes with cluster mode
 * behind this same interface, which is why every method is async even though SQLite is not.
 */

import type { RuntimeSpec, ScalingConfig } from './function-config.js';

export interface FunctionConfig {
  /** Isolate heap limit. (MB) */
  memory: number;
  /** Wall-clock limit per call. (ms) */
  timeout: number;
  /** `"GET /hello"`, `"/items/:id"` (any method). */
  routes: string[];
  vars: Record<string, string>;
  /** Binding name → KV namespace (of the function's own Procyon namespace). */
  kv?: Record<string, string>;
  /** Binding name → function (same namespace) reachable as `env.NAME.fetch()`. */
  services?: Record<string, string>;
  /** Private hosts `fetch` may reach (`host[:port]` patterns); absent: none. */
  egress?: { allow: string[] };
  /** Scaling policy; absent fields take the node's defaults. */
  scaling?: ScalingConfig;
  /** Set when the version is a process class: the module's export that is the class. */
  process?: { className: string };
  /** Set for a native-driver function: its runtime, handler and artifact hash. */
  runtime?: RuntimeSpec;
}

export type HandlerStyle = 'fetch' | 'handler' | 'process';

export interface NamespaceRecord {
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  /** sha256 of the key, hex. The plain key is never stored. */
  hash: string;
  /** null: an admin key, valid for every namespace. */
  namespace: string | null;
  createdAt: number;
  revokedAt?: number | null;
}

export interface VersionRecord {
  namespace: string;
  fn: string;
  id: string;
  code: string;
  config: FunctionConfig;
  style: HandlerStyle;
  createdAt: number;
}

export interface FunctionRecord {
  namespace: string;
  name: string;
  latest: string;
  createdAt: number;
  updatedAt: number;
}

export type ActivationStatus = 'success' | 'error';
/** `message`: a call or one-way send to a process instance; `alarm`: its alarm firing; `spawn`: a long-running proc's whole run. */
export type Trigger = 'http' | 'invoke' | 'service' | 'message' | 'alarm' | 'spawn';

export interface ActivationLog {
  ts: number;
  level: string;
  msg: string;
}

export interface ActivationRecord {
  id: string;
  namespace: string;
  fn: string;
  version: string;
  trigger: Trigger;
  /** ms since epoch */
  start: number;
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  gbSeconds: number;
  cpuMs: number;
  cold: boolean;
  status: ActivationStatus;
  errorCode: string | null;
  logs: ActivationLog[];
  logsTruncated: boolean;
  /** The activation that called this one through a service binding or a process message. */
  parentId?: string | null;
  /** The process instance name, when `fn` is a process class. */
  instance?: string | null;
}

export interface ActivationQuery {
  namespace: string;
  fn?: string;
  status?: ActivationStatus;
  /** inclusive, ms since epoch */
  since?: number;
  /** exclusive, ms since epoch */
  until?: number;
  /** @default 50, at most 1000 */
  limit?: number;
}

export interface SecretRecord {
  namespace: string;
  fn: string;
  name: string;
  /** Encrypted value (see src/secrets); the store never sees plain secrets. */
  sealed: Uint8Array;
  updatedAt: number;
}

export interface KvEntry {
  key: string;
  value: Uint8Array;
  /** JSON text */
  metadata: string | null;
  /** ms since epoch */
  expiresAt: number | null;
}

export interface KvListQuery {
  namespace: string;
  kv: string;
  prefix?: string;
  /** Exclusive: list keys after this one. */
  after?: string;
  limit: number;
}

export interface Store {
  ensureNamespace(name: string): Promise<{ namespace: NamespaceRecord; created: boolean }>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;
  listNamespaces(): Promise<NamespaceRecord[]>;

  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKey(hash: string): Promise<ApiKeyRecord | undefined>;
  countApiKeys(): Promise<number>;
  /** Every key, revoked ones included (hashes are not secrets, but are left out of the API). */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false if there is no such key or it was already revoked. */
  revokeApiKey(id: string, at: number): Promise<boolean>;

  /** Stores the version if it is new and points the function's `latest` at it, atomically. */
  deploy(version: VersionRecord): Promise<{ fn: FunctionRecord; created: boolean; changed: boolean }>;
  getFunction(namespace: string, name: string): Promise<FunctionRecord | undefined>;
  listFunctions(namespace?: string): Promise<FunctionRecord[]>;
  getVersion(namespace: string, fn: string, id: string): Promise<VersionRecord | undefined>;
  /** Newest first. */
  listVersions(namespace: string, fn: string): Promise<VersionRecord[]>;
  /** Removes the function, its versions and its secrets; activation records stay. */
  deleteFunction(namespace: string, name: string): Promise<boolean>;

  insertActivations(records: readonly ActivationRecord[]): Promise<void>;
  /** Newest first, without logs. */
  listActivations(query: ActivationQuery): Promise<ActivationRecord[]>;
  getActivation(namespace: string, id: string): Promise<ActivationRecord | undefined>;

  putSecret(secret: SecretRecord): Promise<void>;
  listSecrets(namespace: string, fn: string): Promise<SecretRecord[]>;
  deleteSecret(namespace: string, fn: string, name: string): Promise<boolean>;

  /** Entries past their expiry are never returned. */
  kvGet(namespace: string, kv: string, key: string, now: number): Promise<KvEntry | undefined>;
  kvPut(namespace: string, kv: string, entry: KvEntry): Promise<void>;
  kvDelete(namespace: string, kv: string, key: string): Promise<void>;
  /** Keys in order, without values. */
  kvList(query: KvListQuery, now: number): Promise<Omit<KvEntry, 'value'>[]>;
  /** Removes expired entries; returns how many. */
  kvSweep(now: number): Promise<number>;

  /** Process instances' storage, directory and alarms. */
  readonly procs: ProcStore;

  /**
   * A native-driver function's archive, by the SHA-256 of its bytes (docs/native-driver.md).
   * Idempotent: the same hash again stores nothing new.
   */
  putArtifact(hash: string, format: ArtifactFormat, bytes: Uint8Array): Promise<void>;
  getArtifact(hash: string): Promise<{ format: ArtifactFormat; bytes: Uint8Array } | null>;

  /**
   * Throws when the store cannot serve: its file was deleted or replaced under the node, or, with
   * `write`, a one-row write transaction fails (disk full, I/O error, corruption). A fault that
   * only a restart can clear (the file is gone) is a ProcyonError with `details.permanent`. The
   * node's health monitor calls it (src/store/health.ts); it changes nothing a caller can see.
   */
  probe(opts: { write: boolean }): Promise<void>;

  close(): Promise<void>;
}

export type ArtifactFormat = 'zip' | 'tar.gz';

/** One instance's identity in the store. */
export interface ProcKey {
  namespace: string;
  className: string;
  name: string;
}

/** A write of `storage.write`: all of one call's ops commit in one transaction. */
export type ProcWriteOp = { put: string; value: Uint8Array } | { delete: string } | { deleteAll: true };

export interface ProcListQuery {
  prefix?: string;
  /** inclusive */
  start?: string;
  /** exclusive */
  end?: string;
  limit?: number;
  reverse?: boolean;
}

export interface ProcInstanceRecord extends ProcKey {
  createdAt: number;
  lastActiveAt: number;
  /** Sum of key and value bytes in its storage. */
  storageBytes: number;
  alarmAt: number | null;
}

/**
 * A one-way message accepted by `send` and not yet delivered (docs/processes.md, "Delivery"): it is
 * stored before the sender hears 202 and removed once `onMessage` has run, so a node killed in
 * between delivers it after its restart.
 */
export interface ProcMessageRecord extends ProcKey {
  /** Stays the same across redeliveries; the instance sees it as `from.messageId`. */
  id: string;
  /** The sender as `onMessage` sees it (JSON text of a `MessageFrom`). */
  from: string;
  /** The sending activation, if the sender was code on the node. */
  parentId: string | null;
  /** `node:v8` serialisation of the message. */
  message: Uint8Array;
  /** epoch ms */
  createdAt: number;
}

export interface ProcAlarm extends ProcKey {
  /** epoch ms */
  at: number;
}

/**
 * Process instances' durable state (docs/processes.md): storage entries (values are `node:v8`
 * serialisations, opaque here), the instance directory and alarms.
 */
export interface ProcStore {
  /** The entries found, in the order of `keys`. */
  get(id: ProcKey, keys: readonly string[]): Promise<[string, Uint8Array][]>;
  /** Entries in key order (byte order of UTF-8), or reversed. */
  list(id: ProcKey, query: ProcListQuery): Promise<[string, Uint8Array][]>;
  /**
   * Applies the ops in order in one transaction and creates the instance row if needed. Per op:
   * true for a put, whether the key existed for a delete, for deleteAll whether any key existed.
   * Throws PROCYON_STORAGE_LIMIT (nothing applied) when the instance's storage would pass
   * `maxBytes`.
   */
  write(id: ProcKey, ops: readonly ProcWriteOp[], maxBytes: number): Promise<boolean[]>;
  /** Records activity (creates the instance row if needed). */
  touch(id: ProcKey, at: number): Promise<void>;
  getInstance(id: ProcKey): Promise<ProcInstanceRecord | undefined>;
  listInstances(namespace: string, className?: string): Promise<ProcInstanceRecord[]>;
  /** Removes the instance's storage, alarm and row. false if there was nothing. */
  deleteInstance(id: ProcKey): Promise<boolean>;
  setAlarm(id: ProcKey, at: number): Promise<void>;
  getAlarm(id: ProcKey): Promise<number | null>;
  deleteAlarm(id: ProcKey): Promise<void>;
  /** Every alarm, earliest first (read at start-up and after changes). */
  listAlarms(): Promise<ProcAlarm[]>;
  /** Stores an accepted one-way message until it is delivered (committed when this resolves). */
  enqueueMessage(message: ProcMessageRecord): Promise<void>;
  /** Removes a delivered message; nothing if it is not there. */
  deleteMessage(id: string): Promise<void>;
  /** Messages not yet delivered, oldest first. */
  listMessages(): Promise<ProcMessageRecord[]>;
}
