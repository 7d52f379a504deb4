/**
 * The isolate driver, node side: forks isolate host processes, routes each call to the host that
 * owns the function's namespace (tenants are partitioned across hosts), and restarts a host that
 * dies, failing only that host's in-flight calls with PROCYON_HOST_CRASHED.
 */
import type {
  DriverCallOptions,
  DriverOutput,
  DriverStats,
  InvokeInput,
  ProcSpec,
  SandboxDriver,
  ValidateOutput,
} from '../types.js';
import { HostHandle, type HostHandleOptions } from './host-handle.js';
import type { LoadSpec } from './protocol.js';

export interface IsolateDriverOptions extends HostHandleOptions {
  hosts: number;
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

  async invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<DriverOutput> {
    const host = this.#hostFor(spec.namespace);
    await host.ready();
    const load = host.loaded.has(spec.key) ? undefined : loadSpec(spec);
    host.loaded.add(spec.key);
    const fail = (code: 'PROCYON_HOST_CRASHED' | 'PROCYON_TIMEOUT', message: string) => (): DriverOutput => ({
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
          ...(opts.nested ? { nested: true } : {}),
        },
      }),
      opts.activationId,
      spec.timeoutMs,
      fail('PROCYON_HOST_CRASHED', 'the isolate host running this call crashed; it has been restarted'),
      fail('PROCYON_TIMEOUT', `the function did not finish within ${spec.timeoutMs} ms`),
    )) as DriverOutput;
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
    for (const h of this.#hosts) inFlight += h.busy;
    return { hosts: this.#hosts.length, hostRestarts: this.#restarts, inFlight };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
