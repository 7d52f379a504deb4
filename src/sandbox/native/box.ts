/**
 * One native-driver proc: a sandbox (launch.ts), the Runtime API it polls (runtime-api.ts), its
 * egress proxy when the function may reach the network, and its output as logs. A box either
 * serves one function version from the start, or boots a runtime before it knows which function
 * it serves (the runtime pool) and is assigned one later.
 */
import { link, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { WireError } from '../../errors.js';
import { LogPolicy } from '../logs.js';
import type { InvokeMeta, ProcSpec } from '../types.js';
import { EgressPolicy } from '../egress/index.js';
import { EgressProxy, proxyEnv } from './egress-proxy.js';
import { PROCS_PORT, type Endpoints } from './endpoints.js';
import { isSandboxed, launchSandbox } from './launch.js';
import { SandboxOutput } from './output.js';
import { RuntimeApi } from './runtime-api.js';
import type {
  Invocation,
  NativeRuntime,
  Sandbox,
  SandboxExit,
  SandboxLayers,
  SandboxLimits,
} from './types.js';

/** Inside the sandbox: where the Runtime API and the egress proxy answer (socat forwards them). */
export const RUNTIME_API_PORT = 9001;
export const EGRESS_PORT = 9002;

export interface BoxDeps {
  layers: SandboxLayers;
  /** Procyon's bootstraps (runtimes/), mounted at /opt/procyon. */
  runtimesDir: string;
  /** Where each sandbox gets its own directory. */
  sandboxesDir: string;
  /** Limits besides memory, which is the function's. */
  limits: Omit<SandboxLimits, 'memoryBytes'>;
  /** The node's `denyEgress`. */
  denyEgress: string[];
  /** Named endpoints of long-running procs, reached through each sandbox's procs proxy. */
  endpoints: Endpoints;
  egressTimeoutMs: number;
  maxResponseBytes: number;
  logLimitBytes: number;
}

export interface BoxPlan {
  runtime: NativeRuntime;
  /** The version it serves from boot; absent for a runtime-pool box, assigned later. */
  spec?: ProcSpec;
  /** The unpacked artifact, read-only at /var/task; absent for a pool box: an empty directory of its own. */
  taskDir?: string;
  memoryMb: number;
}

/** What one invocation came to, and whether the box survived it. */
export type BoxResult = ({ ok: true; body: Buffer } | { ok: false; error: WireError }) &
  Omit<InvokeMeta, 'activationId' | 'cold'> & { gone: boolean };

let serial = 0;

/** The command each runtime boots with. */
function command(runtime: NativeRuntime): string[] {
  switch (runtime) {
    case 'nodejs':
      return [process.execPath, '/opt/procyon/nodejs/bootstrap.mjs'];
    case 'python3':
      return ['/usr/bin/python3', '-u', '/opt/procyon/python3/bootstrap.py'];
    case 'custom':
      return ['/var/task/bootstrap'];
  }
}

/**
 * The variables Lambda sets for a function, and the function's own vars and secrets. Unsandboxed
 * (the unsafe flag), a program has the machine's network and no egress proxy to point at.
 */
export function functionEnv(spec: ProcSpec, layers: SandboxLayers): Record<string, string> {
  const runtime = spec.runtime;
  return {
    ...spec.vars,
    ...spec.secrets,
    ...(runtime?.network && isSandboxed(layers) ? proxyEnv(EGRESS_PORT) : {}),
    _HANDLER: runtime?.handler ?? '',
    AWS_LAMBDA_FUNCTION_NAME: spec.fn,
    AWS_LAMBDA_FUNCTION_VERSION: spec.version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    PROCYON_NAMESPACE: spec.namespace,
  };
}

export class Box {
  readonly id: string;
  #spec: ProcSpec | undefined;
  /** Headers of the first invocation of a pool box: its function's handler and environment. */
  #handoff: Record<string, string> | undefined;
  #egress: EgressProxy | undefined;
  readonly #output: SandboxOutput;
  #exit: SandboxExit | undefined;
  #killed: Promise<SandboxExit> | undefined;

  private constructor(
    private readonly deps: BoxDeps,
    readonly runtime: NativeRuntime,
    readonly dir: string,
    readonly taskDir: string,
    readonly sandbox: Sandbox,
    readonly api: RuntimeApi,
    spec: ProcSpec | undefined,
  ) {
    this.id = sandbox.id;
    this.#spec = spec;
    this.#output = new SandboxOutput(sandbox, new LogPolicy(spec?.secrets ?? {}), deps.logLimitBytes);
    void sandbox.exited.then((exit) => {
      this.#exit = exit;
      this.api.close();
    });
  }

  /** Launches the sandbox; resolves once it runs (see `ready` for its runtime's first poll). */
  static async start(deps: BoxDeps, plan: BoxPlan): Promise<Box> {
    const id = `sbx-${process.pid}-${++serial}`;
    const dir = join(deps.sandboxesDir, id);
    const run = join(dir, 'run');
    await mkdir(run, { recursive: true });
    // A pool box's code is linked in when it gets its function; the directory goes with the box.
    const taskDir = plan.taskDir ?? join(dir, 'task');
    if (!plan.taskDir) await mkdir(taskDir);
    const api = new RuntimeApi({ maxResponseBytes: deps.maxResponseBytes });
    // Unsafe mode has no network namespace: the runtime reaches the API on the host's loopback.
    let address = `127.0.0.1:${RUNTIME_API_PORT}`;
    if (!isSandboxed(deps.layers)) {
      const port = await api.listen({ host: '127.0.0.1', port: 0 });
      address = `127.0.0.1:${port}`;
    } else await api.listen(join(run, 'runtime.sock'));
    const spec = plan.spec;
    const env: Record<string, string> = {
      ...(spec ? functionEnv(spec, deps.layers) : {}),
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/tmp',
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      LAMBDA_TASK_ROOT: '/var/task',
      LAMBDA_RUNTIME_DIR: `/opt/procyon/${plan.runtime}`,
      AWS_LAMBDA_RUNTIME_API: address,
      AWS_REGION: 'local',
      PROCYON_PROCS_PROXY: `http://127.0.0.1:${PROCS_PORT}`,
    };
    let sandbox: Sandbox;
    try {
      sandbox = await launchSandbox(
        {
          id,
          dir,
          taskDir,
          runtimesDir: deps.runtimesDir,
          command: command(plan.runtime),
          env,
          limits: { ...deps.limits, memoryBytes: plan.memoryMb * 2 ** 20 },
          forwards: [
            { port: RUNTIME_API_PORT, socket: join(run, 'runtime.sock') },
            { port: EGRESS_PORT, socket: join(run, 'egress.sock') },
            { port: PROCS_PORT, socket: join(run, 'procs.sock') },
          ],
        },
        deps.layers,
      );
    } catch (err) {
      api.close();
      throw err;
    }
    const box = new Box(deps, plan.runtime, dir, taskDir, sandbox, api, spec);
    if (spec) await box.#open(spec);
    return box;
  }

  get spec(): ProcSpec | undefined {
    return this.#spec;
  }

  get alive(): boolean {
    return this.#exit === undefined && this.#killed === undefined;
  }

  /**
   * Resolves when the runtime polls for its first invocation (it booted); rejects with what went
   * wrong if it reports an init error or exits first.
   */
  async ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const failed = (message: string): Error =>
      Object.assign(new Error(message), { code: 'PROCYON_INIT_FAILED' });
    try {
      await Promise.race([
        this.api.ready,
        this.api.initError.then((e) => {
          throw failed(`the runtime failed to start: ${e.errorType}: ${e.errorMessage}`);
        }),
        this.sandbox.exited.then((exit) => {
          throw failed(`the runtime exited before it asked for work (${describeExit(exit)})`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                Object.assign(failed(`the runtime did not ask for work within ${timeoutMs} ms`), {
                  timedOut: true,
                }),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Gives a pool box its function: the artifact is linked into its task directory (hard links:
   * instant, and the files stay read-only), its memory limit becomes the function's, and the
   * handler and environment travel with the first invocation.
   */
  async assign(spec: ProcSpec, artifactDir: string): Promise<void> {
    await linkTree(artifactDir, this.taskDir);
    await this.sandbox.setMemoryLimit(spec.memoryMb * 2 ** 20);
    this.#spec = spec;
    this.#output.policy = new LogPolicy(spec.secrets);
    const env = functionEnv(spec, this.deps.layers);
    const handler = env._HANDLER ?? '';
    delete env._HANDLER;
    this.#handoff = {
      'Procyon-Handler': handler,
      'Procyon-Env': Buffer.from(JSON.stringify(env)).toString('base64'),
    };
    await this.#open(spec);
  }

  /** What the function's namespace and policy give it: the procs proxy, and egress if allowed. */
  async #open(spec: ProcSpec): Promise<void> {
    await this.deps.endpoints.serveFor(join(this.dir, 'run', 'procs.sock'), spec.namespace);
    if (!spec.runtime?.network) return;
    this.#egress = await EgressProxy.listen(join(this.dir, 'run', 'egress.sock'), {
      policy: new EgressPolicy(spec.egress.allow, this.deps.denyEgress),
      timeoutMs: this.deps.egressTimeoutMs,
    });
  }

  /** Runs one invocation: the event in, the runtime's response or error out, within `timeoutMs`. */
  async invoke(
    requestId: string,
    event: unknown,
    timeoutMs: number,
    logLimitBytes: number,
  ): Promise<BoxResult> {
    const spec = this.#spec;
    // Cannot happen: the driver assigns a function before it invokes a box.
    if (!spec) throw new Error(`sandbox ${this.id} has no function`);
    const cpu0 = this.sandbox.usage().cpuMs;
    this.#output.begin(logLimitBytes);
    const inv: Invocation = {
      requestId,
      deadlineMs: Date.now() + timeoutMs,
      functionArn: `arn:procyon:lambda:local:${spec.namespace}:function:${spec.fn}:${spec.version}`,
      traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${requestId.replace(/-/g, '').slice(0, 24)};Sampled=0`,
      payload: Buffer.from(JSON.stringify(event ?? null)),
      ...(this.#handoff ? { headers: this.#handoff } : {}),
    };
    this.#handoff = undefined;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    type Outcome =
      | { kind: 'result'; result: Awaited<ReturnType<RuntimeApi['invoke']>> }
      | { kind: 'exit'; exit: SandboxExit }
      | { kind: 'timeout' };
    const outcome = await Promise.race<Outcome>([
      this.api.invoke(inv, abort.signal).then((result) => ({ kind: 'result', result })),
      this.sandbox.exited.then((exit) => ({ kind: 'exit', exit })),
      new Promise<Outcome>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    abort.abort();
    let gone = false;
    let error: WireError | undefined;
    let body: Buffer | undefined;
    if (outcome.kind === 'timeout') {
      gone = true;
      await this.kill();
      error = { code: 'PROCYON_TIMEOUT', message: `the function did not finish within ${timeoutMs} ms` };
    } else if (outcome.kind === 'exit') {
      gone = true;
      error = exitError(outcome.exit);
    } else if (outcome.result.type === 'error') {
      const { errorType, errorMessage, stackTrace } = outcome.result;
      error = {
        code:
          errorType === 'Function.ResponseSizeTooLarge'
            ? 'PROCYON_RESPONSE_TOO_LARGE'
            : 'PROCYON_FUNCTION_ERROR',
        message: `${errorType}: ${errorMessage}`,
        ...(stackTrace?.length ? { stack: stackTrace.join('\n') } : {}),
      };
    } else body = outcome.result.body;
    const logs = this.#output.end();
    const meta = {
      cpuMs: Math.max(0, this.sandbox.usage().cpuMs - cpu0),
      logs: logs.lines,
      logsTruncated: logs.truncated,
      gone,
    };
    return error ? { ok: false, error, ...meta } : { ok: true, body: body ?? Buffer.alloc(0), ...meta };
  }

  /** Memory the sandbox's processes use now (its cgroup's charge). */
  memoryBytes(): number {
    // A sandbox that just died has no cgroup left to read.
    return this.alive ? this.sandbox.usage().memoryBytes : 0;
  }

  /** Ends every process of the box and removes its directory. Idempotent. */
  kill(): Promise<SandboxExit> {
    this.#killed ??= (async () => {
      this.api.close();
      await this.#egress?.close();
      await this.deps.endpoints.stopServing(join(this.dir, 'run', 'procs.sock'));
      return this.sandbox.kill();
    })();
    return this.#killed;
  }
}

function describeExit(exit: SandboxExit): string {
  if (exit.oomKilled) return 'killed at its memory limit';
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** Why an invocation ended with its sandbox: the memory limit, or the runtime died. */
function exitError(exit: SandboxExit): WireError {
  if (exit.oomKilled)
    return { code: 'PROCYON_MEMORY_LIMIT', message: 'the function exceeded its memory limit and was killed' };
  return {
    code: 'PROCYON_FUNCTION_ERROR',
    message: `the runtime exited during the invocation (${describeExit(exit)})`,
  };
}

/** Recreates `src`'s tree under `dest` with hard links to its files. */
async function linkTree(src: string, dest: string): Promise<void> {
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const from = join(src, entry.name);
    const to = join(dest, entry.name);
    if (entry.isDirectory()) {
      await mkdir(to, { mode: (await stat(from)).mode & 0o777 });
      await linkTree(from, to);
    } else await link(from, to);
  }
}
