/**
 * The isolate driver, node side: forks isolate host processes, routes each call to the host that
 * owns the function's namespace (tenants are partitioned across hosts), and restarts a host that
 * dies, failing only that host's in-flight calls with PROCYON_HOST_CRASHED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../logger.js';
import type {
  DriverCallOptions,
  DriverStats,
  InvokeInput,
  InvokeOutput,
  ProcSpec,
  SandboxDriver,
  ValidateOutput,
} from '../types.js';
import type { FromHost, HostOptions, LoadSpec, ToHost } from './protocol.js';
import { encode, readFrames } from './wire.js';

const HOST_MAIN = fileURLToPath(new URL('./host-main.js', import.meta.url));
/** Beyond the function's own timeout, how long a host may stay silent before we call it hung. (ms) */
const HUNG_HOST_GRACE_MS = 5_000;
const RESTART_BACKOFF_MS = [50, 200, 1_000, 5_000];

export interface IsolateDriverOptions extends HostOptions {
  hosts: number;
  logger: Logger;
}

interface Pending {
  activationId: string;
  timer: NodeJS.Timeout;
  resolve: (out: InvokeOutput | ValidateOutput) => void;
  /** What to answer if the host dies first. */
  onCrash: () => InvokeOutput | ValidateOutput;
}

class HostHandle {
  child!: ChildProcess;
  readonly pending = new Map<number, Pending>();
  /** Version keys this host has been sent code for. */
  readonly loaded = new Set<string>();
  #ready!: Promise<void>;
  #channel!: Socket;
  #nextId = 1;
  #crashes = 0;
  #closing = false;

  constructor(
    readonly index: number,
    private readonly options: IsolateDriverOptions,
    private readonly onRestart: () => void,
  ) {
    this.#spawn();
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  #spawn(): void {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--enable-source-maps', HOST_MAIN], {
      // fd 3 is the framed message channel (wire.ts); stdout/stderr are the node's.
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        PROCYON_HOST_OPTIONS: JSON.stringify({
          keepAliveMs: this.options.keepAliveMs,
          maxProcsPerVersion: this.options.maxProcsPerVersion,
        } satisfies HostOptions),
      },
    });
    this.child = child;
    this.#channel = child.stdio[3] as Socket;
    // A write to a host that just died fails; its exit handler answers the calls.
    this.#channel.on('error', () => undefined);
    this.#ready = new Promise((resolve, reject) => {
      readFrames<FromHost>(this.#channel, (msg) => {
        if (msg.t === 'ready') {
          this.#crashes = 0;
          this.options.logger.debug({ host: this.index, snapshotMs: msg.snapshotMs }, 'isolate host ready');
          resolve();
        } else this.#settle(msg);
      });
      child.once('error', reject);
    });
    // A host that never becomes ready is handled by the exit path; never leave this unobserved.
    this.#ready.catch(() => undefined);
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
  }

  #settle(msg: FromHost): void {
    if (msg.t !== 'invoked' && msg.t !== 'validated') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve(msg.out);
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.loaded.clear();
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      clearTimeout(p.timer);
      p.resolve(p.onCrash());
    }
    if (this.#closing) return;
    this.options.logger.warn(
      { host: this.index, code, signal, failedCalls: failed.length },
      'isolate host exited; restarting',
    );
    const delay = RESTART_BACKOFF_MS[Math.min(this.#crashes, RESTART_BACKOFF_MS.length - 1)] ?? 5_000;
    this.#crashes++;
    this.onRestart();
    const old = this.#ready;
    this.#ready = new Promise((resolve) => setTimeout(resolve, delay)).then(() => {
      if (this.#closing) return;
      this.#spawn();
      return this.#ready;
    });
    void old;
  }

  request(
    build: (id: number) => ToHost,
    activationId: string,
    timeoutMs: number,
    onCrash: () => InvokeOutput | ValidateOutput,
    onHung: () => InvokeOutput | ValidateOutput,
  ): Promise<InvokeOutput | ValidateOutput> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The host stopped answering: treat it as crashed. This call reports the hang; the
        // others on the host get HOST_CRASHED, and the host is replaced.
        this.pending.delete(id);
        resolve(onHung());
        this.options.logger.error({ host: this.index, activationId }, 'isolate host hung; killing it');
        this.child.kill('SIGKILL');
      }, timeoutMs + HUNG_HOST_GRACE_MS);
      this.pending.set(id, { activationId, timer, resolve, onCrash });
      // If the host is gone the write fails silently and the exit handler answers this call.
      this.#channel.write(encode(build(id)));
    });
  }

  send(msg: ToHost): void {
    if (this.#channel.writable) this.#channel.write(encode(msg));
  }

  async close(): Promise<void> {
    this.#closing = true;
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      // The host exits when its channel closes.
      this.#channel.end();
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    });
  }
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

export class IsolateDriver implements SandboxDriver {
  readonly name = 'isolate';
  readonly #hosts: HostHandle[];
  #restarts = 0;
  #closed = false;

  private constructor(hosts: HostHandle[]) {
    this.#hosts = hosts;
  }

  static async create(options: IsolateDriverOptions): Promise<IsolateDriver> {
    const driver: IsolateDriver = new IsolateDriver([]);
    for (let i = 0; i < options.hosts; i++) {
      driver.#hosts.push(new HostHandle(i, options, () => driver.#restarts++));
    }
    await Promise.all(driver.#hosts.map((h) => h.ready()));
    return driver;
  }

  /** Pid of each host, for operators and crash tests. */
  hostPids(): number[] {
    return this.#hosts.map((h) => h.child.pid ?? -1);
  }

  #hostFor(namespace: string): HostHandle {
    const host = this.#hosts[hash(namespace) % this.#hosts.length];
    if (!host) throw new Error('isolate driver has no hosts');
    return host;
  }

  async validate(spec: ProcSpec): Promise<ValidateOutput> {
    const host = this.#hostFor(spec.namespace);
    await host.ready();
    const crashed = (): ValidateOutput => ({
      ok: false,
      error: { code: 'PROCYON_HOST_CRASHED', message: 'the isolate host crashed while loading the module' },
    });
    return (await host.request(
      (id) => ({ t: 'validate', id, load: loadSpec(spec), timeoutMs: spec.timeoutMs }),
      'validate',
      spec.timeoutMs,
      crashed,
      crashed,
    )) as ValidateOutput;
  }

  async invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<InvokeOutput> {
    const host = this.#hostFor(spec.namespace);
    await host.ready();
    const load = host.loaded.has(spec.key) ? undefined : loadSpec(spec);
    host.loaded.add(spec.key);
    const fail = (code: 'PROCYON_HOST_CRASHED' | 'PROCYON_TIMEOUT', message: string) => (): InvokeOutput => ({
      ok: false,
      error: { code, message },
      activationId: opts.activationId,
      cold: load !== undefined,
      cpuMs: 0,
      logs: [],
      logsTruncated: false,
    });
    const out = (await host.request(
      (id) => ({
        t: 'invoke',
        id,
        key: spec.key,
        ...(load ? { load } : {}),
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
    )) as InvokeOutput;
    if (!out.ok && out.error.code === 'PROCYON_HOST_CRASHED') host.loaded.delete(spec.key);
    return out;
  }

  retire(namespace: string, fn: string, version?: string): void {
    const prefix = version === undefined ? `${namespace}/${fn}@` : `${namespace}/${fn}@${version}`;
    const host = this.#hostFor(namespace);
    for (const key of host.loaded) if (key.startsWith(prefix)) host.loaded.delete(key);
    host.send({ t: 'retire', prefix });
  }

  stats(): DriverStats {
    let inFlight = 0;
    for (const h of this.#hosts) inFlight += h.pending.size;
    return { hosts: this.#hosts.length, hostRestarts: this.#restarts, inFlight };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
