/** Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append only. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE namespaces (
     name TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     namespace TEXT REFERENCES namespaces(name),
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE functions (
     namespace TEXT NOT NULL REFERENCES namespaces(name),
     name TEXT NOT NULL,
     latest TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name)
   );
   CREATE TABLE versions (
     namespace TEXT NOT NULL,
     fn TEXT NOT NULL,
     id TEXT NOT NULL,
     code TEXT NOT NULL,
     config TEXT NOT NULL,
     style TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, fn, id)
   );
   CREATE TABLE activations (
     id TEXT PRIMARY KEY,
     namespace TEXT NOT NULL,
     fn TEXT NOT NULL,
     version TEXT NOT NULL,
     trigger TEXT NOT NULL,
     start INTEGER NOT NULL,
     duration_ms REAL NOT NULL,
     billed_ms INTEGER NOT NULL,
     memory_mb INTEGER NOT NULL,
     gb_seconds REAL NOT NULL,
     cpu_ms REAL NOT NULL,
     cold INTEGER NOT NULL,
     status TEXT NOT NULL,
     error_code TEXT,
     logs TEXT NOT NULL,
     logs_truncated INTEGER NOT NULL
   );
   CREATE INDEX activations_by_fn ON activations (namespace, fn, start);
   CREATE INDEX activations_by_ns ON activations (namespace, start);`,
  // Bindings: secrets per function (AES-256-GCM under the node's master key), KV namespaces and
  // their entries, and the parent of an activation started through a service binding.
  `CREATE TABLE secrets (
     namespace TEXT NOT NULL,
     fn TEXT NOT NULL,
     name TEXT NOT NULL,
     sealed BLOB NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, fn, name)
   );
   CREATE TABLE kv_entries (
     namespace TEXT NOT NULL,
     kv TEXT NOT NULL,
     key TEXT NOT NULL,
     value BLOB NOT NULL,
     metadata TEXT,
     expires_at INTEGER,
     PRIMARY KEY (namespace, kv, key)
   );
   CREATE INDEX kv_expiry ON kv_entries (expires_at) WHERE expires_at IS NOT NULL;
   ALTER TABLE activations ADD COLUMN parent_id TEXT;`,
  // Stateful processes (docs/processes.md): each instance's storage, the instance directory with
  // its storage size kept current by every write, its alarm, and the instance an activation ran on.
  `CREATE TABLE proc_storage (
     namespace TEXT NOT NULL,
     class TEXT NOT NULL,
     name TEXT NOT NULL,
     key TEXT NOT NULL,
     value BLOB NOT NULL,
     PRIMARY KEY (namespace, class, name, key)
   ) WITHOUT ROWID;
   CREATE TABLE proc_instances (
     namespace TEXT NOT NULL,
     class TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_active_at INTEGER NOT NULL,
     storage_bytes INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (namespace, class, name)
   );
   CREATE TABLE proc_alarms (
     namespace TEXT NOT NULL,
     class TEXT NOT NULL,
     name TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (namespace, class, name)
   );
   CREATE INDEX proc_alarms_by_time ON proc_alarms (at);
   ALTER TABLE activations ADD COLUMN instance TEXT;`,
  // Native-driver artifacts (docs/native-driver.md): archives by content hash, shared by every
  // version (and function) that has the same bytes.
  `CREATE TABLE artifacts (
     hash TEXT PRIMARY KEY,
     format TEXT NOT NULL,
     size INTEGER NOT NULL,
     bytes BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Storage hardening (docs/processes.md "Delivery", src/store/health.ts): one-way messages
  // accepted and not yet delivered, and the one row the health probe rewrites to prove that the
  // database takes writes.
  `CREATE TABLE proc_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     namespace TEXT NOT NULL,
     class TEXT NOT NULL,
     name TEXT NOT NULL,
     sender TEXT NOT NULL,
     parent_id TEXT,
     message BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE health_probe (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     at INTEGER NOT NULL
   );`,
];
