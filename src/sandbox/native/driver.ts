/**
 * The native driver: functions whose code is any Linux program, each proc an OS sandbox speaking
 * the Lambda Runtime API (docs/native-driver.md). Procs are scheduled as isolates are, by the
 * shared scheduler (keep-alive, scale to zero, concurrency, the memory budget), with one sandbox
 * per proc and one invocation at a time per sandbox. Runtimes Procyon ships (nodejs, python3) also
 * keep a small pool of sandboxes booted before they know their function, so a cold start of such a
 * function costs linking its files in, not booting an interpreter.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ProcyonError } from '../../errors.js';
import { Scheduler, type Lease } from '../../scheduler/index.js';
import type { ProcBackend, SchedulerOptions, SchedulerStats } from '../../scheduler/index.js';
import type {
  DriverCallOptions,
  DriverOutput,
  DriverStats,
  InvokeInput,
  ProcSpec,
  SandboxDriver,
  ValidateOutput,
} from '../types.js';
import { Box, type BoxDeps } from './box.js';
import { Endpoints } from './endpoints.js';
import { LongRunning, type SpawnRequest } from './long-running.js';
import { describeLayers } from './capabilities.js';
import type { NativeRuntime, SandboxLayers } from './types.js';

export interface NativeDriverOptions extends Omit<BoxDeps, 'endpoints'> {
  /** Where an artifact is unpacked on this node (artifacts.ts). */
  artifactDir: (hash: string) => Promise<string>;
  scheduler: Omit<SchedulerOptions, 'homeHost' | 'heavy'>;
  /** Booted runtimes kept waiting per shipped runtime in use (0: no pool). */
  poolSize: number;
  /** The memory limit a pool sandbox boots with, until its function's applies. (MB) */
  poolMemoryMb: number;
  /** How long a runtime may take to boot and ask for work. (ms) */
  startTimeoutMs: number;
  /** How often keep-alive, pools and memory are looked after. (ms) */
  tickMs: number;
  deployed: () => Iterable<ProcSpec>;
  logger: Logger;
}

type Pooled = Exclude<NativeRuntime, 'custom'>;

/** How long a deploy's boot check waits for a runtime's first poll. (ms) */
const VALIDATE_WINDOW_MS = 3_000;

export class NativeDriver implements SandboxDriver, ProcBackend {
  readonly name = 'native';
  readonly hostCount = 1;
  readonly scheduler: Scheduler;
  /** Each proc's sandbox by proc id, as it starts; `#live` holds those that started. */
  readonly #boxes = new Map<number, Promise<Box>>();
  readonly #live = new Map<number, Box>();
  readonly #pool = new Map<Pooled, Box[]>();
  readonly #filling = new Set<Pooled>();
  readonly #deps: BoxDeps;
  /** Named endpoints of long-running procs, by namespace. */
  readonly endpoints = new Endpoints();
  #tick: NodeJS.Timeout | undefined;
  #restarts = 0;
  #closed = false;

  private constructor(private readonly options: NativeDriverOptions) {
    this.#deps = { ...options, endpoints: this.endpoints };
    this.scheduler = new Scheduler(this, options.scheduler);
  }

  static async create(options: NativeDriverOptions): Promise<NativeDriver> {
    const driver = new NativeDriver(options);
    // Directories of a previous run's sandboxes (their processes died with it: --die-with-parent).
    await rm(driver.#deps.sandboxesDir, { recursive: true, force: true });
    await mkdir(driver.#deps.sandboxesDir, { recursive: true, mode: 0o711 });
    // mkdir's mode is filtered by the umask: the sandbox's user must be able to pass through.
    await chmod(dirname(driver.#deps.sandboxesDir), 0o711);
    await chmod(driver.#deps.sandboxesDir, 0o711);
    if (driver.available) {
      driver.#tick = setInterval(() => driver.#look(), options.tickMs);
      driver.#tick.unref();
    }
    return driver;
  }

  get layers(): SandboxLayers {
    return this.options.layers;
  }

  /** Whether this node can run native-driver functions (bubblewrap, or the explicit unsafe flag). */
  get available(): boolean {
    const { layers } = this.options;
    return layers.unsafe || (layers.bwrap !== null && layers.socat);
  }

  #unavailable(): ProcyonError {
    return new ProcyonError(
      'PROCYON_SANDBOX_UNAVAILABLE',
      `this node cannot run native-driver functions: ${describeLayers(this.options.layers)}`,
    );
  }

  /** Starts `spec`'s program as a long-running proc (long-running.ts); its lifecycle is the caller's. */
  longRunning(request: SpawnRequest): LongRunning {
    if (!this.available) throw this.#unavailable();
    return LongRunning.spawn(
      {
        ...this.#deps,
        artifactDir: this.options.artifactDir,
        logBytes: this.options.logLimitBytes,
      },
      request,
    );
  }

  /**
   * Boots the program once, as a deploy check: a runtime that posts `init/error` or exits before
   * it asks for work fails the deploy. One still busy after a short window passes, since it may
   * be a program meant to be spawned (a server) rather than a runtime.
   */
  async validate(spec: ProcSpec): Promise<ValidateOutput> {
    if (!this.available) return { ok: false, error: this.#unavailable().toWire() };
    const runtime = spec.runtime;
    if (!runtime)
      return { ok: false, error: { code: 'PROCYON_INTERNAL', message: `${spec.key} has no runtime` } };
    let box: Box | undefined;
    try {
      box = await Box.start(this.#deps, {
        runtime: runtime.name,
        spec,
        taskDir: await this.options.artifactDir(runtime.artifact),
        memoryMb: spec.memoryMb,
      });
      await box.ready(Math.min(this.options.startTimeoutMs, VALIDATE_WINDOW_MS));
      return { ok: true, style: 'handler' };
    } catch (err) {
      if ((err as { timedOut?: boolean }).timedOut) return { ok: true, style: 'handler' };
      return { ok: false, error: { code: 'PROCYON_INIT_FAILED', message: (err as Error).message } };
    } finally {
      await box?.kill();
    }
  }

  async spawn(id: number, _host: number, spec: ProcSpec): Promise<void> {
    await this.#track(id, spec);
  }

  evict(id: number): void {
    const box = this.#boxes.get(id);
    this.#forget(id);
    void box?.then(
      (b) => b.kill(),
      () => undefined,
    );
  }

  /** Starts proc `id`'s sandbox and keeps it under that id (forgotten again if it fails to start). */
  #track(id: number, spec: ProcSpec): Promise<Box> {
    const box = this.#start(spec);
    this.#boxes.set(id, box);
    box.then(
      (b) => {
        if (this.#boxes.get(id) === box) this.#live.set(id, b);
      },
      () => {
        if (this.#boxes.get(id) === box) this.#boxes.delete(id);
      },
    );
    return box;
  }

  #forget(id: number): void {
    this.#boxes.delete(id);
    this.#live.delete(id);
  }

  /** A sandbox for `spec`: a pool one given the function when one is waiting, else a new one. */
  async #start(spec: ProcSpec): Promise<Box> {
    const runtime = spec.runtime;
    // Cannot happen: the node routes only specs with a `runtime` to this driver.
    if (!runtime) throw new Error(`${spec.key} is not a native-driver function`);
    const artifact = await this.options.artifactDir(runtime.artifact);
    if (runtime.name !== 'custom') {
      const box = this.#take(runtime.name);
      if (box) {
        try {
          await box.assign(spec, artifact);
          return box;
        } catch (err) {
          // Its memory already exceeds the function's limit, say: boot a fresh one instead.
          this.options.logger.debug({ err }, 'pool sandbox could not take the function');
          void box.kill();
        }
      }
    }
    const box = await Box.start(this.#deps, {
      runtime: runtime.name,
      spec,
      taskDir: artifact,
      memoryMb: spec.memoryMb,
    });
    try {
      await box.ready(Math.min(this.options.startTimeoutMs, spec.timeoutMs + this.options.startTimeoutMs));
    } catch (err) {
      await box.kill();
      throw err;
    }
    return box;
  }

  #take(runtime: Pooled): Box | undefined {
    const pool = this.#pool.get(runtime) ?? [];
    let box: Box | undefined;
    while ((box = pool.shift()) && !box.alive) this.#restarts++;
    void this.#fill(runtime);
    return box;
  }

  /** Boots pool sandboxes for `runtime` until it has `poolSize` waiting. */
  async #fill(runtime: Pooled): Promise<void> {
    if (this.#filling.has(runtime) || this.#closed) return;
    this.#filling.add(runtime);
    try {
      const pool = this.#pool.get(runtime) ?? [];
      this.#pool.set(runtime, pool);
      while (!this.#closed && pool.filter((b) => b.alive).length < this.options.poolSize) {
        let box: Box | undefined;
        try {
          box = await Box.start(this.#deps, { runtime, memoryMb: this.options.poolMemoryMb });
          await box.ready(this.options.startTimeoutMs);
          // The driver closed while this one booted: it must not outlive the node.
          if (this.#closed) return void (await box.kill());
          pool.push(box);
        } catch (err) {
          this.options.logger.warn({ err, runtime }, 'could not boot a pool sandbox');
          await box?.kill();
          return;
        }
      }
    } finally {
      this.#filling.delete(runtime);
    }
  }

  async invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<DriverOutput> {
    if (!this.available) throw this.#unavailable();
    if (input.type !== 'event')
      throw new ProcyonError(
        'PROCYON_BAD_REQUEST',
        `a native-driver function takes events, not ${input.type}`,
      );
    const lease = await this.scheduler.acquire(spec, opts.nested);
    const base = { activationId: opts.activationId, cold: lease.cold };
    let box: Box;
    try {
      box = await this.#boxFor(lease, spec);
    } catch (err) {
      this.scheduler.release(lease, true);
      const message = (err as Error).message;
      return {
        ok: false,
        error: { code: 'PROCYON_INIT_FAILED', message },
        ...base,
        cpuMs: 0,
        logs: [],
        logsTruncated: false,
      };
    }
    const r = await box.invoke(opts.activationId, input.event, spec.timeoutMs, opts.logLimitBytes);
    if (r.gone) {
      this.#forget(lease.id);
      void box.kill();
    }
    this.scheduler.release(lease, r.gone);
    const meta = { ...base, cpuMs: r.cpuMs, logs: r.logs, logsTruncated: r.logsTruncated };
    if (!r.ok) return { ok: false, error: r.error, ...meta };
    return { ok: true, result: { type: 'event', value: parseBody(r.body) }, ...meta };
  }

  #boxFor(lease: Lease, spec: ProcSpec): Promise<Box> {
    return this.#boxes.get(lease.id) ?? this.#track(lease.id, spec);
  }

  capacity(spec: ProcSpec): number {
    return this.scheduler.capacity(spec);
  }

  retire(namespace: string, fn: string, version?: string): void {
    this.scheduler.retire(version === undefined ? `${namespace}/${fn}@` : `${namespace}/${fn}@${version}`);
  }

  /** Keep-alive and scale-down, `minInstances`, pools of runtimes in use, and memory for the budget. */
  #look(): void {
    const used = new Set<Pooled>();
    for (const spec of this.options.deployed()) {
      const name = spec.runtime?.name;
      if (!name) continue;
      if (name !== 'custom') used.add(name);
      if (spec.scaling.minInstances) this.scheduler.prewarm(spec);
    }
    this.scheduler.tick();
    for (const runtime of used) void this.#fill(runtime);
    // Pools of runtimes no longer deployed go: scale to zero.
    for (const [runtime, pool] of this.#pool)
      if (!used.has(runtime)) for (const box of pool.splice(0)) void box.kill();
    this.scheduler.reportMemory([...this.#live].map(([id, box]) => [id, box.memoryBytes()]));
  }

  stats(): DriverStats & { scheduler: SchedulerStats; pooled: number } {
    let pooled = 0;
    for (const pool of this.#pool.values()) pooled += pool.length;
    return {
      hosts: this.#boxes.size,
      hostRestarts: this.#restarts,
      inFlight: this.scheduler.stats().versions.reduce((n, v) => n + v.inFlight, 0),
      scheduler: this.scheduler.stats(),
      pooled,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tick);
    const boxes = [...this.#boxes.values()];
    this.#boxes.clear();
    this.#live.clear();
    const pooled = [...this.#pool.values()].flat();
    this.#pool.clear();
    await Promise.all([
      ...boxes.map((b) =>
        b.then(
          (box) => box.kill(),
          () => undefined,
        ),
      ),
      ...pooled.map((b) => b.kill()),
      this.endpoints.close(),
    ]);
  }
}

/** A Lambda response body: JSON as a value; anything else as its text. */
function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
