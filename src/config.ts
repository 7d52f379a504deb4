/**
 * Node configuration: one schema that turns flags, environment variables and defaults into one
 * readonly object. Every environment variable the node reads is listed in `ENV` below.
 */
import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ProcyonError } from './errors.js';
import { parseEgressPattern } from './sandbox/egress/index.js';

const MB = 1024 * 1024;

/** The node's own services, on every address: NATS (4222) and PostgreSQL (5432). */
export const DEFAULT_DENY_EGRESS = ['*:4222', '*:5432'];

/** A comma-separated list (from an environment variable) or an array. */
const commaList = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : value;

function isEgressPattern(pattern: string): boolean {
  try {
    parseEgressPattern(pattern);
    return true;
  } catch {
    return false;
  }
}

export const ConfigSchema = z.object({
  /** Interface the HTTP server binds. @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one. @default 8080 */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Where the SQLite store, the admin key and artifacts live. @default ./.procyon */
  dataDir: z.string().min(1).default('.procyon'),
  /** Isolate host child processes. @default number of CPUs (at least 1, at most 8) */
  isolateHosts: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.min(8, Math.max(1, availableParallelism()))),
  /**
   * Default `maxInstances`: procs one function version may have on this node, over all isolate
   * hosts; beyond it calls wait for a proc with room. Many isolates of one version compete for the
   * same cores and lower throughput (measured: 32 → 3.2k calls/s, 2 → 7k calls/s per host), so
   * keep it small. @default 8
   */
  maxProcsPerVersion: z.coerce.number().int().min(1).max(1024).default(8),
  /**
   * Memory all warm procs together may hold (their measured heaps); a new proc beyond it evicts
   * idle procs, least recently used first. @default a quarter of the machine's memory (MiB)
   */
  memoryBudgetMb: z.coerce
    .number()
    .int()
    .min(16)
    .default(Math.floor(totalmem() / MB / 4)),
  /**
   * Trusted mode: run isolates inside the node process instead of isolate host children. Faster
   * (no pipe, no second process), but a V8 crash or a runaway beyond an isolate's limits takes
   * down the node. For code the operator trusts. Needs `node --no-node-snapshot`. @default false
   */
  trusted: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .default(false),
  /** How often the autoscaler decides. @default 2000 (ms) */
  autoscaleTickMs: z.coerce.number().int().min(10).default(2_000),
  /** The autoscaler's stable window; its panic window is a tenth of it. @default 60000 (ms) */
  autoscaleWindowMs: z.coerce.number().int().min(100).default(60_000),
  /**
   * Stem cells: isolates from the prelude snapshot, initialised and waiting, per memory size in
   * use, so a cold start only loads the function's module. Each holds ~2-3 MB. 0 turns them off.
   * @default 4
   */
  stemCells: z.coerce.number().int().min(0).max(64).default(4),
  /** Calls one function may run at once on this node; more wait in the queue. @default 64 */
  maxConcurrencyPerFunction: z.coerce.number().int().min(1).default(64),
  /** Calls one namespace may run at once on this node; more wait in the queue. @default 256 */
  maxConcurrencyPerNamespace: z.coerce.number().int().min(1).default(256),
  /**
   * A function whose calls average more CPU than this (a timed-out call counts its whole
   * duration) is CPU-heavy: at most half the cores' worth of its calls run at once, so it cannot
   * starve other functions. @default 100 (ms)
   */
  heavyCpuMs: z.coerce.number().int().min(1).default(100),
  /** Calls that may wait for a slot, node-wide; beyond it, 429. @default 512 */
  queueSize: z.coerce.number().int().min(0).default(512),
  /** Events one process instance may have waiting or running; beyond it, 429. @default 256 */
  procMailbox: z.coerce.number().int().min(1).default(256),
  /** Storage one process instance may hold (keys + serialised values). @default 1024 (MB) */
  procStorageMb: z.coerce.number().int().min(1).default(1024),
  /** How long a call may wait for a slot before 429. @default 5000 (ms) */
  queueTimeoutMs: z.coerce.number().int().min(1).default(5_000),
  /** Largest request or response body of a synchronous call. @default 6 MiB (bytes) */
  maxPayloadBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(6 * MB),
  /** Largest deploy request (code + config). @default 20 MiB (bytes) */
  maxDeployBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(20 * MB),
  /**
   * Worker threads that type-check uploaded TypeScript, off the event loop; more deploys
   * wait for one. Each warm worker holds ~100 MB (TypeScript and its parsed lib files). @default 1
   */
  buildWorkers: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * Wall time one deploy's type check may take in its worker; past it the worker is terminated
   * and the deploy fails with 400 PROCYON_BUILD_BUDGET. Not counted: a new worker loading
   * TypeScript before its first check (~1-2 s of CPU). @default 20000 (ms)
   */
  buildTimeoutMs: z.coerce.number().int().min(100).default(20_000),
  /**
   * Heap one build worker may grow to; past it the same 400. Checking a ~100 KB module needs
   * ~150 MB; a 2.4 MB one ~600 MB. @default 512 (MB)
   */
  buildMemoryMb: z.coerce.number().int().min(64).default(512),
  /** Log output kept per activation before truncation. @default 64 KiB (bytes) */
  logLimitBytes: z.coerce
    .number()
    .int()
    .min(256)
    .default(64 * 1024),
  /** Default `keepAliveMs`: a version's last warm procs go after this long idle. @default 600000 (ms) */
  keepAliveMs: z.coerce.number().int().min(100).default(600_000),
  /** A client must send its request headers within this long, or get 408 and a closed socket. @default 10000 (ms) */
  headersTimeoutMs: z.coerce.number().int().min(100).default(10_000),
  /**
   * A client must send its whole request (headers and body) within this long, or get 408 and a
   * closed socket, so a body dripped at 1 byte/s cannot hold a connection forever. It covers
   * receiving the request only: a response streamed for longer is not cut. Room for the largest
   * deploy (20 MiB) over a ~2 Mbit/s uplink. At least `headersTimeoutMs`. @default 120000 (ms)
   */
  requestTimeoutMs: z.coerce.number().int().min(100).default(120_000),
  /**
   * Connections one client address may hold open at once; more are answered 429 and closed, so a
   * few hundred slow connections from one client cannot exhaust the node. Behind a proxy all
   * clients share its address: raise this there. @default 512
   */
  maxConnectionsPerIp: z.coerce.number().int().min(1).default(512),
  /** How deeply objects and arrays may nest in a JSON request body; deeper is a 400. @default 100 (levels) */
  maxJsonDepth: z.coerce.number().int().min(1).max(10_000).default(100),
  /** On SIGTERM, in-flight calls get this long to finish. @default 30000 (ms) */
  shutdownGraceMs: z.coerce.number().int().min(0).default(30_000),
  /** Activation records are flushed at least this often. @default 200 (ms) */
  activationFlushMs: z.coerce.number().int().min(10).default(200),
  /** pino level for the node's own log. @default info */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Master key for secrets at rest, base64 of 32 bytes; without it `<dataDir>/master.key` is used (created once). */
  masterKey: z.string().optional(),
  /**
   * `host[:port]` patterns no function's `fetch` may reach, even when its `egress.allow` names them:
   * the node's own services. Loopback, private, link-local and metadata addresses are denied to
   * functions anyway; this list matters for services on public addresses and for functions that
   * allow private ones. Pattern syntax: `*`, `*.example.com`, `db.internal`, `10.0.0.5`,
   * `10.0.0.0/8`, `[fd00::1]`, each with an optional `:port` (absent or `*`: any port). When the
   * node gets cluster settings (NATS, PostgreSQL URLs), their host:port belong here too.
   * @default *:4222,*:5432 (NATS and PostgreSQL ports on every address)
   */
  denyEgress: z
    .preprocess(
      commaList,
      z.array(z.string().refine(isEgressPattern, { message: 'not a host[:port] egress pattern' })),
    )
    .default(DEFAULT_DENY_EGRESS),
  /** One `fetch` from a function (redirects included) times out after this long, or at the call's deadline. @default 30000 (ms) */
  fetchTimeoutMs: z.coerce.number().int().min(1).default(30_000),
  /** Largest response body one `fetch` from a function may read (decompressed). @default 32 MiB (bytes) */
  fetchMaxResponseBytes: z.coerce
    .number()
    .int()
    .min(1)
    .default(32 * MB),
  /**
   * Run native-driver functions as plain child processes when bubblewrap is missing: no
   * namespaces, full network, the node's files readable. For development on a machine without
   * bubblewrap, never for code you do not trust. @default false
   */
  unsafeNativeSandbox: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .default(false),
  /** Booted runtimes (nodejs, python3) kept waiting per runtime in use, for fast cold starts. 0 turns the pool off. @default 1 */
  nativePool: z.coerce.number().int().min(0).max(16).default(1),
  /** Processes and threads one native-driver sandbox may have. @default 64 */
  nativePids: z.coerce.number().int().min(4).max(4096).default(64),
  /** CPU one native-driver sandbox may use, in cores. @default 1 */
  nativeCpus: z.coerce.number().min(0.01).max(64).default(1),
  /** Size of a native-driver sandbox's private /tmp. @default 64 MiB (bytes) */
  nativeTmpBytes: z.coerce
    .number()
    .int()
    .min(MB)
    .default(64 * MB),
  /** Long-running procs one namespace may run at once on this node. @default 64 */
  maxSpawnedPerNamespace: z.coerce.number().int().min(1).max(10_000).default(64),
  /** How long a native-driver runtime may take to boot and ask for work. @default 10000 (ms) */
  nativeStartTimeoutMs: z.coerce.number().int().min(100).default(10_000),
  /** A folder with a procyon.json listing functions to deploy on the first start. */
  examplesDir: z.string().optional(),
  /** Written with `{ url, pid }` once the node listens (for scripts and tests). */
  readyFile: z.string().optional(),
});

export type NodeConfig = Readonly<z.output<typeof ConfigSchema>>;
export type NodeConfigInput = z.input<typeof ConfigSchema>;

/** Environment variables, by config key. */
export const ENV: Partial<Record<keyof NodeConfigInput, string>> = {
  host: 'PROCYON_HOST',
  port: 'PROCYON_PORT',
  dataDir: 'PROCYON_DATA_DIR',
  isolateHosts: 'PROCYON_ISOLATE_HOSTS',
  maxProcsPerVersion: 'PROCYON_MAX_PROCS_PER_VERSION',
  memoryBudgetMb: 'PROCYON_MEMORY_BUDGET_MB',
  trusted: 'PROCYON_TRUSTED',
  autoscaleTickMs: 'PROCYON_AUTOSCALE_TICK_MS',
  autoscaleWindowMs: 'PROCYON_AUTOSCALE_WINDOW_MS',
  stemCells: 'PROCYON_STEM_CELLS',
  maxConcurrencyPerFunction: 'PROCYON_MAX_CONCURRENCY_PER_FUNCTION',
  maxConcurrencyPerNamespace: 'PROCYON_MAX_CONCURRENCY_PER_NAMESPACE',
  queueSize: 'PROCYON_QUEUE_SIZE',
  procMailbox: 'PROCYON_PROC_MAILBOX',
  procStorageMb: 'PROCYON_PROC_STORAGE_MB',
  heavyCpuMs: 'PROCYON_HEAVY_CPU_MS',
  queueTimeoutMs: 'PROCYON_QUEUE_TIMEOUT_MS',
  maxPayloadBytes: 'PROCYON_MAX_PAYLOAD_BYTES',
  logLimitBytes: 'PROCYON_LOG_LIMIT_BYTES',
  buildWorkers: 'PROCYON_BUILD_WORKERS',
  buildTimeoutMs: 'PROCYON_BUILD_TIMEOUT_MS',
  buildMemoryMb: 'PROCYON_BUILD_MEMORY_MB',
  keepAliveMs: 'PROCYON_KEEP_ALIVE_MS',
  headersTimeoutMs: 'PROCYON_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'PROCYON_REQUEST_TIMEOUT_MS',
  maxConnectionsPerIp: 'PROCYON_MAX_CONNECTIONS_PER_IP',
  maxJsonDepth: 'PROCYON_MAX_JSON_DEPTH',
  shutdownGraceMs: 'PROCYON_SHUTDOWN_GRACE_MS',
  logLevel: 'PROCYON_LOG_LEVEL',
  denyEgress: 'PROCYON_DENY_EGRESS',
  fetchTimeoutMs: 'PROCYON_FETCH_TIMEOUT_MS',
  fetchMaxResponseBytes: 'PROCYON_FETCH_MAX_RESPONSE_BYTES',
  masterKey: 'PROCYON_MASTER_KEY',
  unsafeNativeSandbox: 'PROCYON_UNSAFE_NATIVE_SANDBOX',
  nativePool: 'PROCYON_NATIVE_POOL',
  nativePids: 'PROCYON_NATIVE_PIDS',
  nativeCpus: 'PROCYON_NATIVE_CPUS',
  nativeTmpBytes: 'PROCYON_NATIVE_TMP_BYTES',
  nativeStartTimeoutMs: 'PROCYON_NATIVE_START_TIMEOUT_MS',
  maxSpawnedPerNamespace: 'PROCYON_MAX_SPAWNED_PER_NAMESPACE',
};

/**
 * Old spellings of environment variables, still read for one release (docs/native-driver.md,
 * "Renamed"): the native driver's settings were named after "process", the word that now means
 * only stateful instances. The new name wins when both are set.
 */
export const DEPRECATED_ENV: Partial<Record<keyof NodeConfigInput, string>> = {
  unsafeNativeSandbox: 'PROCYON_UNSAFE_PROCESS_SANDBOX',
  nativePool: 'PROCYON_PROCESS_POOL',
  nativePids: 'PROCYON_PROCESS_PIDS',
  nativeCpus: 'PROCYON_PROCESS_CPUS',
  nativeTmpBytes: 'PROCYON_PROCESS_TMP_BYTES',
  nativeStartTimeoutMs: 'PROCYON_PROCESS_START_TIMEOUT_MS',
};

/** One note per deprecated environment variable set in `env`, naming its replacement. */
export function deprecatedEnvNotes(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(DEPRECATED_ENV)
    .filter(([, old]) => env[old] !== undefined && env[old] !== '')
    .map(([key, old]) => `${old} is deprecated; use ${ENV[key as keyof NodeConfigInput] ?? key}`);
}

/** Flags win over environment variables (new spellings over deprecated ones), which win over defaults. */
export function loadConfig(
  flags: Partial<NodeConfigInput>,
  env: NodeJS.ProcessEnv = process.env,
): NodeConfig {
  const merged: Record<string, unknown> = {};
  for (const [key, name] of [...Object.entries(DEPRECATED_ENV), ...Object.entries(ENV)]) {
    const value = env[name];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) merged[key] = value;
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const source = ENV[key as keyof NodeConfigInput];
    throw new ProcyonError(
      'PROCYON_CONFIG_INVALID',
      `invalid config ${key}${source ? ` (${source})` : ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  // Node refuses a request timeout below the headers timeout; say so in config terms instead.
  if (parsed.data.requestTimeoutMs < parsed.data.headersTimeoutMs) {
    throw new ProcyonError(
      'PROCYON_CONFIG_INVALID',
      `invalid config requestTimeoutMs (${ENV.requestTimeoutMs}): must be at least headersTimeoutMs (${parsed.data.headersTimeoutMs} ms)`,
    );
  }
  return Object.freeze({ ...parsed.data, dataDir: resolve(parsed.data.dataDir) });
}
