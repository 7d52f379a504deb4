/**
 * A Procyon node: opens the store, starts the isolate hosts, serves HTTP, and shuts down
 * gracefully. Lifecycle: 'starting' → 'ready' → 'draining' → 'stopped'.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../auth/keys.js';
import { BuildPool } from '../build/index.js';
import type { NodeConfig } from '../config.js';
import { FunctionService, LIMITS } from '../control/functions.js';
import { ActivationRecorder, Admission, CpuGovernor, Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import { DEFAULT_NAMESPACE, Registry } from '../registry/index.js';
import { ArtifactService } from '../control/artifacts.js';
import { ArtifactCache } from '../artifacts/index.js';
import { IsolateDriver, SandboxRouter, type NativeDriver } from '../sandbox/index.js';
import { sandboxRoot, startNativeDriver } from './native-driver.js';
import { SqliteStore, StoreHealth, guardStore, type Store } from '../store/index.js';
import { ProcyonError } from '../errors.js';
import { lockDataDir } from './lock.js';
import { KvService } from '../bindings/kv.js';
import { registerBindingOps } from '../bindings/rpc.js';
import { SecretService, unsealSecrets } from '../control/secrets.js';
import { SecretBox } from '../secrets/index.js';
import { createHttpServer } from './http.js';
import { RpcRouter } from '../sandbox/ops/index.js';
import { Metrics } from '../metrics/index.js';
import { startProcesses, type ProcessRuntime } from '../procs/index.js';
import { SpawnedProcs } from '../procs/spawned.js';
import { MemoryBudget, mergeStats } from '../scheduler/budget.js';

export type NodeState = 'starting' | 'ready' | 'draining' | 'stopped';

export { DEFAULT_NAMESPACE };
/** How often expired KV entries are deleted. (ms) */
const KV_SWEEP_MS = 60_000;
export const ADMIN_KEY_FILE = 'admin.key';
/** An exited long-running proc stays in `ps` this long. (ms) */
const SPAWNED_KEEP_EXITED_MS = 10 * 60_000;

export class ProcyonNode {
  state: NodeState = 'starting';
  /** The admin key, only on the start that created it (it is never recoverable afterwards). */
  adminKey: string | null = null;
  /** True when this start created the store. */
  firstStart = false;
  #url = '';
  #stopping: Promise<void> | null = null;
  #kvSweep: NodeJS.Timeout | undefined;
  #storeHealth: StoreHealth | undefined;
  #unlock: () => Promise<void> = async () => undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    readonly store: Store,
    readonly driver: IsolateDriver,
    readonly nativeDriver: NativeDriver,
    readonly invoker: Invoker,
    readonly recorder: ActivationRecorder,
    readonly functions: FunctionService,
    readonly http: FastifyInstance,
    readonly processes: ProcessRuntime,
    readonly spawned: SpawnedProcs,
    readonly builds: BuildPool,
  ) {}

  /** Process instances: HTTP, messages, the directory (docs/processes.md). */
  get procs(): ProcessRuntime['manager'] {
    return this.processes.manager;
  }

  static async start(config: NodeConfig, logger: Logger): Promise<ProcyonNode> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const unlock = await lockDataDir(config.dataDir);
    let raw: SqliteStore;
    try {
      raw = await openStore(join(config.dataDir, 'procyon.db'));
    } catch (err) {
      await unlock();
      throw err;
    }
    // Every store error reaches callers as a coded 503, and the node's health follows the store.
    const storeHealth = new StoreHealth({ store: raw, logger: logger.child({ component: 'store' }) });
    const store = guardStore(raw, storeHealth);
    const firstStart = (await store.countApiKeys()) === 0;
    await store.ensureNamespace(DEFAULT_NAMESPACE);
    let adminKey: string | null = null;
    if (firstStart && (await stat(join(config.dataDir, ADMIN_KEY_FILE)).catch(() => null)))
      // RELIABILITY case 21: a data dir whose database went missing starts empty; say so loudly.
      logger.error(
        { dataDir: config.dataDir },
        'the data dir has an admin key but no database: its database was deleted or moved; starting with an empty store and a new admin key',
      );
    if (firstStart) {
      adminKey = (await createApiKey(store, null)).key;
      const file = join(config.dataDir, ADMIN_KEY_FILE);
      await writeFile(file, `${adminKey}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
    }
    const rpc = new RpcRouter();
    // The registry is loaded once the driver exists; the driver asks it for deployed versions later.
    const deployed: { registry?: Registry } = {};
    const cpuGovernor = new CpuGovernor({
      heavyCpuMs: config.heavyCpuMs,
      // Leave at least half the cores to everyone else (the isolate hosts run on all of them).
      heavyLimit: Math.max(1, Math.floor(availableParallelism() / 2)),
    });
    if (config.trusted && !nodeSnapshotDisabled())
      throw new ProcyonError(
        'PROCYON_CONFIG_INVALID',
        'trusted mode runs isolated-vm in the node, which needs `node --no-node-snapshot` (or NODE_OPTIONS=--no-node-snapshot)',
      );
    // One budget for both drivers' procs: each used to get all of it (issue 11).
    const memoryBudget = new MemoryBudget(config.memoryBudgetMb * 1024 * 1024);
    const driver = await IsolateDriver.create({
      rpc: rpc.handle,
      trusted: config.trusted,
      // One in-process host: isolated-vm runs each isolate on its own thread pool anyway.
      hosts: config.trusted ? 1 : config.isolateHosts,
      scheduler: {
        maxProcsPerVersion: config.maxProcsPerVersion,
        keepAliveMs: config.keepAliveMs,
        memoryBudget,
        stableWindowMs: config.autoscaleWindowMs,
        panicWindowMs: Math.max(1, Math.round(config.autoscaleWindowMs / 10)),
        heavy: (namespace, fn) => cpuGovernor.heavy(`${namespace}/${fn}`),
      },
      tickMs: config.autoscaleTickMs,
      deployed: () => (deployed.registry?.list() ?? []).map((f) => f.spec),
      stemCells: config.stemCells,
      defaultMemoryMb: LIMITS.memory.default,
      denyEgress: [...config.denyEgress],
      fetchTimeoutMs: config.fetchTimeoutMs,
      fetchMaxResponseBytes: config.fetchMaxResponseBytes,
      logger: logger.child({ component: 'isolate-driver' }),
    });
    const box = await SecretBox.open(config.dataDir, config.masterKey);
    const registry = await Registry.load(store, (ns, fn) => unsealSecrets(store, box, ns, fn));
    deployed.registry = registry;
    for (const skipped of registry.skippedRoutes)
      logger.warn({ component: 'registry' }, `route not served: ${skipped}`);
    const artifacts = new ArtifactService({
      store,
      cache: new ArtifactCache({ dir: join(sandboxRoot(config), 'artifacts'), store }),
    });
    const nativeDriver = await startNativeDriver(config, {
      memoryBudget,
      artifactDir: (hash) => artifacts.path(hash),
      deployed: () => registry.list().map((f) => f.spec),
      logger: logger.child({ component: 'native-driver' }),
    });
    const sandboxes = new SandboxRouter(driver, nativeDriver);
    const recorder = new ActivationRecorder(
      store,
      logger.child({ component: 'recorder' }),
      config.activationFlushMs,
    );
    // Gauges are read at scrape time, through objects made below.
    const live: { invoker?: Invoker; spawned?: SpawnedProcs } = {};
    const admission = new Admission({
      perFunction: config.maxConcurrencyPerFunction,
      perNamespace: config.maxConcurrencyPerNamespace,
      queueSize: config.queueSize,
      queueTimeoutMs: config.queueTimeoutMs,
    });
    const metrics = new Metrics({
      inFlight: () => live.invoker?.inFlight ?? 0,
      isolateHosts: () => driver.stats().hosts,
      hostRestarts: () => driver.stats().hostRestarts,
      pendingActivationWrites: () => recorder.pendingCount,
      queueDepth: () => admission.queued,
      procs: () => mergeStats(memoryBudget, [driver.scheduler.stats(), nativeDriver.scheduler.stats()]),
      spawned: () => live.spawned?.counts() ?? {},
      hostRss: () => driver.stats().hostRssBytes,
      hostExternal: () => driver.stats().hostExternalBytes,
      memoryKills: () => driver.stats().memoryKills,
    });
    const invoker = new Invoker({
      metrics,
      admission,
      cpuGovernor,
      registry,
      store,
      driver: sandboxes,
      recorder,
      logger: logger.child({ component: 'invoker' }),
      logLimitBytes: config.logLimitBytes,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    live.invoker = invoker;
    const secrets = new SecretService({ store, box, registry, driver: sandboxes });
    const kv = new KvService(store);
    registerBindingOps({
      router: rpc,
      registry,
      store,
      kv,
      invoker,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    const processes = await startProcesses({
      registry,
      store,
      invoker,
      procs: driver.scheduler,
      router: rpc,
      logger: logger.child({ component: 'procs' }),
      mailbox: config.procMailbox,
      storageMaxBytes: config.procStorageMb * 1024 * 1024,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    const spawned = new SpawnedProcs({
      registry,
      start: (request) => nativeDriver.longRunning(request),
      record: (record) => {
        recorder.add(record);
        metrics.observe(record);
      },
      logger: logger.child({ component: 'spawned' }),
      maxPerNamespace: config.maxSpawnedPerNamespace,
      keepExitedMs: SPAWNED_KEEP_EXITED_MS,
    });
    live.spawned = spawned;
    // The HTTP server needs the node's URL and state before the node object exists.
    const self: { node?: ProcyonNode } = {};
    const baseUrl = (): string => self.node?.url ?? `http://${config.host}:${config.port}`;
    const builds = new BuildPool({
      workers: config.buildWorkers,
      timeoutMs: config.buildTimeoutMs,
      memoryMb: config.buildMemoryMb,
      logger: logger.child({ component: 'build' }),
    });
    const functions = new FunctionService({
      store,
      registry,
      driver: sandboxes,
      artifacts,
      invoker,
      drainMs: config.shutdownGraceMs,
      maxProcsPerVersion: config.maxProcsPerVersion,
      baseUrl,
      typecheck: (code, filename) => builds.check(code, filename),
    });
    const http = createHttpServer({
      logger: logger.child({ component: 'http' }),
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      metrics,
      health: () => {
        const state = self.node?.state ?? 'starting';
        if (state !== 'ready') return { status: state };
        const storage = storeHealth.state;
        return storage.healthy ? null : { status: 'unhealthy', reason: `storage: ${storage.reason}` };
      },
      api: {
        store,
        functions,
        invoker,
        recorder,
        secrets,
        kv,
        maxPayloadBytes: config.maxPayloadBytes,
        maxDeployBytes: config.maxDeployBytes,
        maxJsonDepth: config.maxJsonDepth,
        baseUrl,
        procs: processes.manager,
        spawned,
      },
      gateway: {
        registry,
        invoker,
        procs: processes.manager,
        maxPayloadBytes: config.maxPayloadBytes,
        defaultHost: () => new URL(baseUrl()).host,
      },
    });
    const node = new ProcyonNode(
      config,
      logger,
      store,
      driver,
      nativeDriver,
      invoker,
      recorder,
      functions,
      http,
      processes,
      spawned,
      builds,
    );
    self.node = node;
    node.#storeHealth = storeHealth;
    node.#unlock = unlock;
    node.adminKey = adminKey;
    node.firstStart = firstStart;
    await http.listen({ host: config.host, port: config.port });
    const addr = http.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    node.#url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
    // Expired KV entries are already invisible; this only gives their space back.
    node.#kvSweep = setInterval(() => {
      store.kvSweep(Date.now()).catch((err: unknown) => logger.warn({ err }, 'KV sweep failed'));
    }, KV_SWEEP_MS);
    node.#kvSweep.unref();
    node.state = 'ready';
    return node;
  }

  get url(): string {
    return this.#url;
  }

  /**
   * Graceful stop: refuse new work (503), let in-flight calls finish within the grace period,
   * write every activation record, then close the hosts and the store. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.state = 'draining';
    clearInterval(this.#kvSweep);
    // Alarms due while draining would be refused; the store keeps them for the next start.
    this.processes.alarms.stop();
    const closing = this.http.close();
    const drained = await this.invoker.stop(this.config.shutdownGraceMs);
    if (!drained)
      this.logger.warn(
        { inFlight: this.invoker.inFlight },
        'grace period over; stopping with calls in flight',
      );
    // Keep-alive sockets that were busy when close() began become idle only now; close them as
    // they go idle, so a client holding a connection open cannot hold the shutdown.
    const server = this.http.server;
    server.closeIdleConnections();
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    const force = setTimeout(() => server.closeAllConnections(), 5_000);
    await closing;
    clearInterval(sweeper);
    clearTimeout(force);
    await this.processes.close();
    // Long-running procs do not outlive their node; their runs are recorded as they end.
    await this.spawned.close();
    await this.builds.close();
    await this.recorder.close();
    await Promise.all([this.driver.close(), this.nativeDriver.close()]);
    this.#storeHealth?.stop();
    await this.store.close();
    await this.#unlock();
    this.state = 'stopped';
  }
}

/** The node's database, or a start-up error an operator can act on (corrupt, unreadable). */
async function openStore(file: string): Promise<SqliteStore> {
  try {
    return await SqliteStore.create(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ProcyonError(
      'PROCYON_STORAGE_UNAVAILABLE',
      `cannot open the database ${file} (${typeof code === 'string' ? code : 'error'}: ${(err as Error).message}): restore it from a backup, or move it aside to start with an empty store`,
      { cause: err },
    );
  }
}

export async function writeReadyFile(path: string, url: string): Promise<void> {
  await writeFile(path, JSON.stringify({ url, pid: process.pid }));
}

/** isolated-vm's snapshots break under Node's own startup snapshot (Node 20+). */
function nodeSnapshotDisabled(): boolean {
  return (
    process.execArgv.includes('--no-node-snapshot') ||
    /--no-node-snapshot/.test(process.env.NODE_OPTIONS ?? '')
  );
}
