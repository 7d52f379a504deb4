/**
 * A long-running proc, the SigmaOS lifecycle (docs/native-driver.md): a native-driver function's
 * program started as a process of its own rather than per invocation. It runs until it exits, is
 * evicted (SIGTERM, which it may watch, then SIGKILL after a grace period) or killed. Its output
 * is kept as logs (a bounded tail); it may publish an endpoint under its name in its namespace.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { LogPolicy } from '../logs.js';
import type { LogLine, ProcSpec } from '../types.js';
import { EGRESS_PORT, functionEnv } from './box.js';
import { EgressPolicy } from '../egress/index.js';
import { EgressProxy } from './egress-proxy.js';
import type { Endpoints } from './endpoints.js';
import { PROCS_PORT } from './endpoints.js';
import { launchSandbox } from './launch.js';
import type { Sandbox, SandboxExit, SandboxLayers, SandboxLimits } from './types.js';

/**
 * starting: the sandbox is being made; running: its program runs (and, with a port, its endpoint
 * accepts connections); stopping: evicted, within its grace period; exited: gone, with a status.
 */
export type LongRunningState = 'starting' | 'running' | 'stopping' | 'exited';

export interface ExitStatus extends SandboxExit {
  /** What ended it: the program itself, an evict, a kill, or a failure to start. */
  reason: 'exited' | 'evicted' | 'killed' | 'failed';
  message?: string;
  /** ms since epoch */
  at: number;
}

export interface SpawnRequest {
  spec: ProcSpec;
  name: string;
  args: string[];
  /** The file to run, relative to the artifact's root; default: the handler's file (or `bootstrap`). */
  main?: string;
  /** A TCP port the program listens on inside its sandbox, published as its named endpoint. */
  port?: number;
}

export interface LongRunningDeps {
  layers: SandboxLayers;
  runtimesDir: string;
  sandboxesDir: string;
  limits: Omit<SandboxLimits, 'memoryBytes'>;
  denyEgress: string[];
  egressTimeoutMs: number;
  endpoints: Endpoints;
  artifactDir: (hash: string) => Promise<string>;
  /** Bytes of output kept (the tail). */
  logBytes: number;
}

/** Inside the sandbox: where a proc with a port is reached by the node. */
const ENDPOINT_SOCKET = '/run/procyon/endpoint.sock';

/**
 * The program a proc runs: `main` (a file of the artifact) run by its runtime's interpreter, or by
 * default the custom bootstrap or the handler's module as a main program.
 */
function mainCommand(spec: ProcSpec, args: string[], main: string | undefined): string[] {
  const runtime = spec.runtime;
  // Cannot happen: only specs with a `runtime` reach the native driver's long-running procs.
  if (!runtime) throw new Error(`${spec.key} is not a native-driver function`);
  const module = runtime.handler.slice(0, runtime.handler.lastIndexOf('.'));
  switch (runtime.name) {
    case 'custom':
      return [`/var/task/${main ?? 'bootstrap'}`, ...args];
    case 'nodejs':
      return [process.execPath, `/var/task/${main ?? `${module}.js`}`, ...args];
    case 'python3':
      return ['/usr/bin/python3', '-u', `/var/task/${main ?? `${module.replace(/\./g, '/')}.py`}`, ...args];
  }
}

let serial = 0;

/** What the node's manager (src/procs/spawned.ts) needs of a long-running proc. */
export interface LongRunningProc {
  readonly request: SpawnRequest;
  readonly name: string;
  readonly state: LongRunningState;
  readonly startedAt: number;
  readonly exit: ExitStatus | undefined;
  readonly logsDropped: number;
  waitStart(): Promise<void>;
  waitExit(): Promise<ExitStatus>;
  evict(graceMs: number): void;
  kill(): void;
  usage(): { memoryBytes: number; cpuMs: number };
  logs(): LogLine[];
}

export class LongRunning implements LongRunningProc {
  state: LongRunningState = 'starting';
  readonly startedAt = Date.now();
  exit: ExitStatus | undefined;
  readonly #lines: LogLine[] = [];
  #logBytes = 0;
  logsDropped = 0;
  #sandbox: Sandbox | undefined;
  #egress: EgressProxy | undefined;
  #stopReason: ExitStatus['reason'] | undefined;
  #procsSocket: string | undefined;
  /** Masks the function's secrets in what the proc prints, as for invocations. */
  readonly #policy: LogPolicy;
  #graceTimer: NodeJS.Timeout | undefined;
  readonly #started: Promise<void>;
  readonly #exited: Promise<ExitStatus>;
  #resolveExit!: (exit: ExitStatus) => void;

  private constructor(
    private readonly deps: LongRunningDeps,
    readonly request: SpawnRequest,
  ) {
    this.#exited = new Promise((resolve) => (this.#resolveExit = resolve));
    this.#policy = new LogPolicy(request.spec.secrets);
    this.#started = this.#start();
    // A failed start shows as the exit; nobody has to await `#started` for it.
    this.#started.catch(() => undefined);
  }

  static spawn(deps: LongRunningDeps, request: SpawnRequest): LongRunning {
    return new LongRunning(deps, request);
  }

  get name(): string {
    return this.request.name;
  }

  async #start(): Promise<void> {
    const { spec, name, port } = this.request;
    const { deps } = this;
    const id = `proc-${process.pid}-${++serial}`;
    const dir = join(deps.sandboxesDir, id);
    const run = join(dir, 'run');
    try {
      await mkdir(run, { recursive: true });
      const taskDir = await deps.artifactDir(spec.runtime?.artifact ?? '');
      const procsSocket = join(run, 'procs.sock');
      await deps.endpoints.serveFor(procsSocket, spec.namespace);
      this.#procsSocket = procsSocket;
      if (spec.runtime?.network)
        this.#egress = await EgressProxy.listen(join(run, 'egress.sock'), {
          policy: new EgressPolicy(spec.egress.allow, deps.denyEgress),
          timeoutMs: deps.egressTimeoutMs,
        });
      let command = mainCommand(spec, this.request.args, this.request.main);
      if (port !== undefined)
        // The node reaches the program's port through a socket in the run directory.
        command = [
          '/bin/sh',
          '-c',
          `socat UNIX-LISTEN:${ENDPOINT_SOCKET},fork,mode=600 TCP:127.0.0.1:${port} & exec "$@"`,
          'sh',
          ...command,
        ];
      const sandbox = await launchSandbox(
        {
          id,
          dir,
          taskDir,
          runtimesDir: deps.runtimesDir,
          command,
          env: {
            ...functionEnv(spec, deps.layers),
            PATH: '/usr/local/bin:/usr/bin:/bin',
            HOME: '/tmp',
            LANG: 'C.UTF-8',
            TZ: 'UTC',
            PROCYON_PROC_NAME: name,
            PROCYON_PROCS_PROXY: `http://127.0.0.1:${PROCS_PORT}`,
          },
          limits: { ...deps.limits, memoryBytes: spec.memoryMb * 2 ** 20 },
          forwards: [
            { port: PROCS_PORT, socket: procsSocket },
            ...(this.#egress ? [{ port: EGRESS_PORT, socket: join(run, 'egress.sock') }] : []),
          ],
        },
        deps.layers,
      );
      this.#sandbox = sandbox;
      this.#capture(sandbox);
      void sandbox.exited.then((exit) => this.#ended(exit));
      if (port !== undefined) {
        await deps.endpoints.waitListening(sandbox.pid, port, sandbox.exited);
        deps.endpoints.publish(spec.namespace, name, join(run, 'endpoint.sock'));
      }
      if (this.state === 'starting') this.state = 'running';
    } catch (err) {
      const message = (err as Error).message;
      this.#ended({ code: null, signal: null, oomKilled: false }, 'failed', message);
      // Without a sandbox nothing else removes its directory.
      if (!this.#sandbox) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  #capture(sandbox: Sandbox): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const decoder = new StringDecoder('utf8');
      let partial = '';
      sandbox[stream].on('data', (chunk: Buffer) => {
        const lines = (partial + decoder.write(chunk)).split('\n');
        partial = (lines.pop() ?? '').slice(-16 * 1024);
        for (const msg of lines) this.#log(stream === 'stderr' ? 'error' : 'log', msg);
      });
      sandbox[stream].on('end', () => {
        if (partial) this.#log(stream === 'stderr' ? 'error' : 'log', partial);
      });
    }
  }

  /** Keeps the newest lines within the byte budget: a proc that logs forever keeps a moving tail. */
  #log(level: LogLine['level'], line: string): void {
    const msg = this.#policy.redact(line);
    this.#lines.push({ ts: Date.now(), level, msg });
    this.#logBytes += msg.length;
    while (this.#logBytes > this.deps.logBytes && this.#lines.length > 1) {
      this.#logBytes -= this.#lines.shift()?.msg.length ?? 0;
      this.logsDropped++;
    }
  }

  logs(): LogLine[] {
    return [...this.#lines];
  }

  #ended(exit: SandboxExit, reason?: ExitStatus['reason'], message?: string): void {
    if (this.exit) return;
    this.usage();
    clearTimeout(this.#graceTimer);
    this.state = 'exited';
    this.exit = {
      ...exit,
      reason: reason ?? this.#stopReason ?? 'exited',
      ...(message ? { message } : {}),
      at: Date.now(),
    };
    this.deps.endpoints.unpublish(this.request.spec.namespace, this.name);
    if (this.#procsSocket) void this.deps.endpoints.stopServing(this.#procsSocket);
    void this.#egress?.close();
    // Whatever remains of its tree goes, with its cgroup and directory.
    void this.#sandbox?.kill();
    this.#resolveExit(this.exit);
  }

  /** Resolves once the proc runs (its endpoint accepts, when it has one); rejects if it failed to start. */
  waitStart(): Promise<void> {
    return this.#started;
  }

  waitExit(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** Cooperative stop: SIGTERM now, SIGKILL after `graceMs` if it is still there. */
  evict(graceMs: number): void {
    if (this.state === 'exited' || this.state === 'stopping') return;
    this.#stopReason = 'evicted';
    this.state = 'stopping';
    const sandbox = this.#sandbox;
    if (!sandbox) {
      void this.#started.then(
        () => this.evict(graceMs),
        () => undefined,
      );
      return;
    }
    sandbox.signal('SIGTERM');
    this.#graceTimer = setTimeout(() => void sandbox.kill(), graceMs);
    this.#graceTimer.unref();
  }

  kill(): void {
    if (this.state === 'exited') return;
    this.#stopReason ??= 'killed';
    if (this.#stopReason === 'evicted') this.#stopReason = 'killed';
    const sandbox = this.#sandbox;
    if (sandbox) void sandbox.kill();
    else
      void this.#started.then(
        () => this.kill(),
        () => undefined,
      );
  }

  usage(): { memoryBytes: number; cpuMs: number } {
    if (!this.#sandbox || this.state === 'exited') return { memoryBytes: 0, cpuMs: this.#lastCpuMs };
    const { memoryBytes, cpuMs } = this.#sandbox.usage();
    this.#lastCpuMs = cpuMs;
    return { memoryBytes, cpuMs };
  }

  #lastCpuMs = 0;
}
