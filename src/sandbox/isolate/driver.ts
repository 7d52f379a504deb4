/**
 * The isolate driver, node side: forks isolate host processes and runs each call on the proc the
 * scheduler picks (src/scheduler), on whichever host that proc lives. It is the scheduler's
 * backend: it makes procs ahead of demand and disposes them on its command. A host that dies is
 * restarted; only its in-flight calls fail, with PROCYON_HOST_CRASHED, and its procs are forgotten.
 */
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
import { HostHandle, type CallAnswer, type HostHandleOptions } from './host-handle.js';
import type { MemoryKillReason } from './memory-watch.js';
import type { LoadSpec, TailMeta, ToHost } from './protocol.js';

export interface IsolateDriverOptions extends Omit<HostHandleOptions, 'onStats' | 'nice'> {
  hosts: number;
  scheduler: Omit<SchedulerOptions, 'homeHost'>;
  /** How often the autoscaler decides. (ms) @default 2000 */
  tickMs?: number;
  /** The versions now deployed, so `minInstances` are warm before their first call. */
  deployed?: () => Iterable<ProcSpec>;
}

function loadSpec(spec: ProcSpec): LoadSpec {
  const { timeoutMs: _timeout, ...load } = spec;
  return load;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const DEFAULT_TICK_MS = 2_000;
/** OS priority of the background host (0 normal, 19 lowest): heavy procs yield the cores to the rest. */
const BACKGROUND_NICE = 15;

export class IsolateDriver implements SandboxDriver, ProcBackend {
  readonly name = 'isolate';
  readonly #hosts: HostHandle[] = [];
  readonly #rss: number[] = [];
  /** ArrayBuffers and WebAssembly memory of each host's procs, as last reported. (bytes) */
  readonly #external: number[] = [];
  /** Procs disposed for going past their memory limit since the node started, by reason. */
  readonly #memoryKills: Record<MemoryKillReason, number> = { heap: 0, external: 0, wasm: 0 };
  readonly scheduler: Scheduler;
  #tick: NodeJS.Timeout | undefined;
  #restarts = 0;
  #closed = false;

  readonly #normalHosts: number;
  readonly backgroundHost: number | undefined;

  private constructor(options: IsolateDriverOptions) {
    this.#normalHosts = options.hosts;
    // In trusted mode there is no process to lower the priority of.
    this.backgroundHost = options.trusted ? undefined : options.hosts;
    this.scheduler = new Scheduler(this, {
      ...options.scheduler,
      // Tenants keep an affinity to one host: a namespace's first procs land there.
      homeHost: (namespace) => hash(namespace) % options.hosts,
    });
  }

  static async create(options: IsolateDriverOptions): Promise<IsolateDriver> {
    const driver = new IsolateDriver(options);
    const hostOptions: HostHandleOptions = {
      ...options,
      onStats: (host, stats) => {
        driver.#rss[host] = stats.rss;
        driver.#external[host] = stats.externalBytes;
        for (const [reason, n] of Object.entries(stats.memoryKills))
          driver.#memoryKills[reason as MemoryKillReason] += n;
        driver.scheduler.reportMemory(stats.procs);
      },
    };
    const total = options.hosts + (driver.backgroundHost === undefined ? 0 : 1);
    for (let i = 0; i < total; i++) {
      const nice = i === driver.backgroundHost ? BACKGROUND_NICE : undefined;
      driver.#hosts.push(
        new HostHandle(i, nice === undefined ? hostOptions : { ...hostOptions, nice }, () => {
          driver.#restarts++;
          driver.scheduler.dropHost(i);
        }),
      );
    }
    await Promise.all(driver.#hosts.map((h) => h.ready()));
    const deployed = options.deployed;
    const tick = (): void => {
      for (const spec of deployed?.() ?? []) if (spec.scaling.minInstances) driver.scheduler.prewarm(spec);
      driver.scheduler.tick();
    };
    driver.#tick = setInterval(tick, options.tickMs ?? DEFAULT_TICK_MS);
    driver.#tick.unref();
    return driver;
  }

  get hostCount(): number {
    return this.#normalHosts;
  }

  /** Pid of each host, for operators and crash tests. */
  hostPids(): number[] {
    return this.#hosts.map((h) => h.pid);
  }

  #host(index: number): HostHandle {
    const host = this.#hosts[index];
    // Cannot happen: indexes come from the scheduler, which only knows hosts this driver made.
    if (!host) throw new Error(`isolate driver has no host ${index}`);
    return host;
  }

  /** The version's code, the first time this host needs it. */
  #code(host: HostHandle, spec: ProcSpec): { load?: LoadSpec } {
    if (host.loaded.has(spec.key)) return {};
    host.loaded.add(spec.key);
    return { load: loadSpec(spec) };
  }

  async validate(spec: ProcSpec): Promise<ValidateOutput> {
    const host = this.#host(hash(spec.namespace) % this.#normalHosts);
    await host.ready();
    return await this.#request(
      host,
      (id) => ({ t: 'validate', id, load: loadSpec(spec), timeoutMs: spec.timeoutMs }),
      'validate',
      spec.timeoutMs,
      'the isolate host crashed while loading the module',
    );
  }

  async spawn(id: number, index: number, spec: ProcSpec): Promise<void> {
    const host = this.#host(index);
    await host.ready();
    const out = await this.#request(
      host,
      (rid) => ({ t: 'spawn', id: rid, proc: id, key: spec.key, ...this.#code(host, spec) }),
      'spawn',
      spec.timeoutMs,
      'the isolate host crashed while pre-warming a proc',
    );
    if (!out.ok) throw ProcyonError.fromWire(out.error);
  }

  evict(id: number, index: number, key: string, last: boolean): void {
    const host = this.#host(index);
    if (last) host.loaded.delete(key);
    host.send({ t: 'evict', proc: id, ...(last ? { forget: key } : {}) });
  }

  async invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<DriverOutput> {
    const lease = await this.scheduler.acquire(spec, opts.nested);
    const host = this.#host(lease.host);
    let out: CallAnswer;
    try {
      await host.ready();
      const withCode = this.#code(host, spec);
      const fail = (code: 'PROCYON_HOST_CRASHED' | 'PROCYON_TIMEOUT', message: string) => (): CallAnswer => ({
        ok: false,
        error: { code, message },
        activationId: opts.activationId,
        cold: lease.cold,
        cpuMs: 0,
        logs: [],
        logsTruncated: false,
        procGone: true,
      });
      out = (await host.request(
        (id) => ({
          t: 'invoke',
          id,
          proc: lease.id,
          key: spec.key,
          ...withCode,
          input,
          call: {
            activationId: opts.activationId,
            timeoutMs: spec.timeoutMs,
            logLimitBytes: opts.logLimitBytes,
            maxResponseBytes: opts.maxResponseBytes,
          },
        }),
        opts.activationId,
        spec.timeoutMs,
        fail('PROCYON_HOST_CRASHED', 'the isolate host running this call crashed; it has been restarted'),
        fail('PROCYON_TIMEOUT', `the function did not finish within ${spec.timeoutMs} ms`),
      )) as CallAnswer;
    } catch (err) {
      this.scheduler.release(lease, true);
      throw err;
    }
    if (!out.ok && out.error.code === 'PROCYON_HOST_CRASHED') host.loaded.delete(spec.key);
    const { procGone, ...result } = out;
    // A process instance whose handler threw is not trusted with another event (docs/processes.md).
    if (!procGone && !result.ok && result.error.code === 'PROCYON_FUNCTION_ERROR' && spec.process?.instance)
      this.scheduler.discard(lease);
    else if (!result.tail) this.scheduler.release(lease, procGone);
    else this.#releaseAfter(lease, result.tail.done);
    return result;
  }

  capacity(spec: ProcSpec): number {
    return this.scheduler.capacity(spec);
  }

  #releaseAfter(lease: Lease, done: Promise<TailMeta>): void {
    void done.then(
      (meta) => this.scheduler.release(lease, meta.procGone === true),
      () => this.scheduler.release(lease, true),
    );
  }

  #request(
    host: HostHandle,
    build: (id: number) => ToHost,
    label: string,
    timeoutMs: number,
    crashMessage: string,
  ): Promise<ValidateOutput> {
    const crashed = (): ValidateOutput => ({
      ok: false,
      error: { code: 'PROCYON_HOST_CRASHED', message: crashMessage },
    });
    return host.request(build, label, timeoutMs, crashed, crashed) as Promise<ValidateOutput>;
  }

  retire(namespace: string, fn: string, version?: string): void {
    this.scheduler.retire(version === undefined ? `${namespace}/${fn}@` : `${namespace}/${fn}@${version}`);
  }

  /** Pre-warms a version's `minInstances` now (the periodic tick would, within a few seconds). */
  prewarm(spec: ProcSpec): void {
    if (spec.scaling.minInstances) this.scheduler.prewarm(spec);
  }

  stats(): DriverStats & {
    scheduler: SchedulerStats;
    hostRssBytes: number[];
    hostExternalBytes: number[];
    memoryKills: Record<MemoryKillReason, number>;
  } {
    let inFlight = 0;
    for (const h of this.#hosts) inFlight += h.busy;
    return {
      hosts: this.#hosts.length,
      hostRestarts: this.#restarts,
      inFlight,
      scheduler: this.scheduler.stats(),
      hostRssBytes: this.#hosts.map((_, i) => this.#rss[i] ?? 0),
      hostExternalBytes: this.#hosts.map((_, i) => this.#external[i] ?? 0),
      memoryKills: { ...this.#memoryKills },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tick);
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
