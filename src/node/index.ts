/**
 * A Procyon node: opens the store, starts the isolate hosts, serves HTTP, and shuts down
 * gracefully. Lifecycle: 'starting' → 'ready' → 'draining' → 'stopped'.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../auth/index.js';
import { BuildPool } from '../build/index.js';
import type { NodeConfig } from '../config.js';
import { ArtifactService, FunctionService, LIMITS, SecretService, unsealSecrets } from '../control/index.js';
import { ActivationRecorder, Admission, CpuGovernor, Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import { DEFAULT_NAMESPACE, Registry } from '../registry/index.js';
import { ArtifactCache } from '../artifacts/index.js';
import { IsolateDriver, SandboxRouter, type NativeDriver } from '../sandbox/index.js';
import { sandboxRoot, startNativeDriver } from './native-driver.js';
import { SqliteStore, StoreHealth, guardStore, type Store } from '../store/index.js';
import { ProcyonError } from '../errors.js';
import { lockDataDir } from './lock.js';
import { Stages } from './stages.js';
import { KvService, registerBindingOps } from '../bindings/index.js';
import { SecretBox } from '../secrets/index.js';
import { RpcRouter } from '../sandbox/ops/index.js';
import { createHttpServer, drainHttpServer, listeningUrl } from './http.js';
import { Metrics } from '../metrics/index.js';
import { SpawnedProcs, startProcesses, type ProcessRuntime } from '../procs/index.js';
import { MemoryBudget, mergeStats } from '../scheduler/index.js';

export type NodeState = 'starting' | 'ready' | 'draining' | 'stopped';

export { DEFAULT_NAMESPACE };
export { deployExamples } from './examples.js';
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
  /** What start() did, undone by stop(). */
  #stages: Stages | undefined;

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

  /**
   * Starts the node in stages (src/node/stages.ts), each undone in reverse when a later one fails,
   * so a failed start rejects with its error and leaves nothing running or locked.
   */
  static async start(config: NodeConfig, logger: Logger): Promise<ProcyonNode> {
    const stages = new Stages(logger.child({ component: 'startup' }));
    await stages.run('lock the data dir', async () => {
      await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
      const release = await lockDataDir(config.dataDir);
      return { value: release, undo: release };
    });
    const { store, storeHealth } = await stages.run('open the store', async () => {
      const raw = await openStore(join(config.dataDir, 'procyon.db'));
      // Every store error reaches callers as a coded 503, and the node's health follows the store.
      const health = new StoreHealth({ store: raw, logger: logger.child({ component: 'store' }) });
      const guarded = guardStore(raw, health);
      return {
        value: { store: guarded, storeHealth: health },
        undo: async () => {
          health.stop();
          await guarded.close();
        },
      };
    });
    const { firstStart, adminKey } = await stages.run('admin key', async () => ({
      value: await ensureAdminKey(config, logger, store),
    }));
    const rpc = new RpcRouter();
    // The registry is loaded once the driver exists; the driver asks it for deployed versions later.
    const deployed: { registry?: Registry } = {};
    const cpuGovernor = new CpuGovernor({
      heavyCpuMs: config.heavyCpuMs,
      // Leave at least half the cores to everyone else (the isolate hosts run on all of them).
      heavyLimit: Math.max(1, Math.floor(availableParallelism() / 2)),
    });
    // One budget for both drivers' procs: each used to get all of it (issue 11).
    const memoryBudget = new MemoryBudget(config.memoryBudgetMb * 1024 * 1024);
    const driver = await stages.run('start the isolate hosts', async () => {
      if (config.trusted && !nodeSnapshotDisabled())
        throw new ProcyonError(
          'PROCYON_CONFIG_INVALID',
          'trusted mode runs isolated-vm in the node, which needs `node --no-node-snapshot` (or NODE_OPTIONS=--no-node-snapshot)',
        );
      const isolates = await IsolateDriver.create({
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
      return { value: isolates, undo: () => isolates.close() };
    });
    const { box, registry } = await stages.run('load the registry', async () => {
      const secretBox = await SecretBox.open(config.dataDir, config.masterKey);
      const loaded = await Registry.load(store, (ns, fn) => unsealSecrets(store, secretBox, ns, fn));
      for (const skipped of loaded.skippedRoutes)
        logger.warn({ component: 'registry' }, `route not served: ${skipped}`);
      return { value: { box: secretBox, registry: loaded } };
    });
    deployed.registry = registry;
    const artifacts = new ArtifactService({
      store,
      cache: new ArtifactCache({ dir: join(sandboxRoot(config), 'artifacts'), store }),
    });
    const nativeDriver = await stages.run('start the native driver', async () => {
      const started = await startNativeDriver(config, {
        memoryBudget,
        artifactDir: (hash) => artifacts.path(hash),
        deployed: () => registry.list().map((f) => f.spec),
        logger: logger.child({ component: 'native-driver' }),
      });
      return { value: started, undo: () => started.close() };
    });
    const sandboxes = new SandboxRouter(driver, nativeDriver);
    // Closed after everything that records runs (procs, spawned procs), which are undone before it.
    const recorder = await stages.run('activation recorder', async () => {
      const made = new ActivationRecorder(
        store,
        logger.child({ component: 'recorder' }),
        config.activationFlushMs,
      );
      return { value: made, undo: () => made.close() };
    });
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
    const processes = await stages.run('start process instances', async () => {
      const runtime = await startProcesses({
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
      return { value: runtime, undo: () => runtime.close() };
    });
    const spawned = await stages.run('long-running procs', async () => {
      const procs = new SpawnedProcs({
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
      // Long-running procs do not outlive their node; their runs are recorded as they end.
      return { value: procs, undo: () => procs.close() };
    });
    live.spawned = spawned;
    const builds = await stages.run('build pool', async () => {
      const pool = new BuildPool({
        workers: config.buildWorkers,
        timeoutMs: config.buildTimeoutMs,
        memoryMb: config.buildMemoryMb,
        logger: logger.child({ component: 'build' }),
      });
      return { value: pool, undo: () => pool.close() };
    });
    // The HTTP server needs the node's URL and state before the node object exists.
    const self: { node?: ProcyonNode } = {};
    const baseUrl = (): string => self.node?.url ?? `http://${config.host}:${config.port}`;
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
    const http = await stages.run('HTTP server', async () => {
      const server = createHttpServer({
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
      // Undone first on a stop: the graceful drain, before the services it waits on close.
      const undo = async (): Promise<void> => {
        // Alarms due while draining would be refused; the store keeps them for the next start.
        processes.alarms.stop();
        await drainHttpServer(server, invoker, config.shutdownGraceMs, logger);
      };
      return { value: server, undo };
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
    node.#stages = stages;
    node.adminKey = adminKey;
    node.firstStart = firstStart;
    // Closing the listening socket is the HTTP server stage's undo.
    node.#url = await stages.run('listen', async () => {
      await http.listen({ host: config.host, port: config.port });
      return { value: listeningUrl(http) };
    });
    await stages.run('background loops', async () => {
      // Expired KV entries are already invisible; this only gives their space back.
      const kvSweep = setInterval(() => {
        store.kvSweep(Date.now()).catch((err: unknown) => logger.warn({ err }, 'KV sweep failed'));
      }, KV_SWEEP_MS);
      kvSweep.unref();
      return { value: null, undo: () => clearInterval(kvSweep) };
    });
    node.state = 'ready';
    return node;
  }

  get url(): string {
    return this.#url;
  }

  /**
   * Graceful stop: refuse new work (503), let in-flight calls finish within the grace period,
   * write every activation record, then close the hosts and the store: the start-up stages
   * undone, last first. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.state = 'draining';
    await this.#stages?.unwind();
    this.state = 'stopped';
  }
}

/** On the first start: the default namespace and the admin key, also written to `admin.key`. */
async function ensureAdminKey(
  config: NodeConfig,
  logger: Logger,
  store: Store,
): Promise<{ firstStart: boolean; adminKey: string | null }> {
  const firstStart = (await store.countApiKeys()) === 0;
  await store.ensureNamespace(DEFAULT_NAMESPACE);
  if (!firstStart) return { firstStart, adminKey: null };
  const file = join(config.dataDir, ADMIN_KEY_FILE);
  if (await stat(file).catch(() => null))
    // RELIABILITY case 21: a data dir whose database went missing starts empty; say so loudly.
    logger.error(
      { dataDir: config.dataDir },
      'the data dir has an admin key but no database: its database was deleted or moved; starting with an empty store and a new admin key',
    );
  const adminKey = (await createApiKey(store, null)).key;
  await writeFile(file, `${adminKey}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { firstStart, adminKey };
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
