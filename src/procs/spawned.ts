/**
 * Long-running procs of a node (docs/native-driver.md, "Long-running procs"): spawned from a
 * native-driver function, named uniquely in their namespace, listed with state, uptime, memory
 * and CPU, and waited on, evicted or killed by name. Each one's run is one activation record,
 * written when it ends, with its exit status, the tail of its output, and its billed time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ProcyonError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/index.js';
import type { ExitStatus, LongRunningProc, LongRunningState, SpawnRequest } from '../sandbox/index.js';
import type { ActivationRecord } from '../store/index.js';
import { checkInstanceName } from '../names.js';

export interface SpawnedInfo {
  namespace: string;
  fn: string;
  version: string;
  name: string;
  state: LongRunningState;
  args: string[];
  port?: number;
  startedAt: string;
  uptimeMs: number;
  memoryBytes: number;
  cpuMs: number;
  /** Output lines dropped from the front of the kept tail. */
  logsDropped: number;
  exit?: Omit<ExitStatus, 'at'> & { at: string };
  activationId: string;
}

export interface SpawnOptions {
  name?: string;
  args?: string[];
  /** A file of the artifact to run instead of the default program. */
  main?: string;
  port?: number;
}

export interface SpawnedDeps {
  registry: Registry;
  start: (request: SpawnRequest) => LongRunningProc;
  record: (record: ActivationRecord) => void;
  logger: Logger;
  /** Live procs one namespace may have. */
  maxPerNamespace: number;
  /** How long an exited proc stays listed (for `wait-exit` and `ps`). (ms) */
  keepExitedMs: number;
}

interface Entry {
  proc: LongRunningProc;
  activationId: string;
}

/** `wait-start` and `wait-exit` wait at most this long per request; clients ask again. (ms) */
export const MAX_WAIT_MS = 60_000;

export class SpawnedProcs {
  /** `ns` → name → entry. */
  readonly #procs = new Map<string, Map<string, Entry>>();

  constructor(private readonly deps: SpawnedDeps) {}

  spawn(namespace: string, fn: string, options: SpawnOptions): SpawnedInfo {
    const deployed = this.deps.registry.get(namespace, fn);
    if (!deployed)
      throw new ProcyonError(
        'PROCYON_FN_NOT_FOUND',
        `function "${fn}" not found in namespace "${namespace}"`,
      );
    if (!deployed.spec.runtime)
      throw new ProcyonError(
        'PROCYON_BAD_REQUEST',
        `"${fn}" runs in an isolate; only native-driver functions (deployed with a runtime) can be spawned`,
      );
    const name = checkInstanceName(options.name ?? `${fn}-${randomBytes(3).toString('hex')}`);
    const procs = this.#ns(namespace);
    const existing = procs.get(name);
    if (existing && existing.proc.state !== 'exited')
      throw new ProcyonError(
        'PROCYON_CONFLICT',
        `a proc named "${name}" is already running in namespace "${namespace}"`,
      );
    let live = 0;
    for (const e of procs.values()) if (e.proc.state !== 'exited') live++;
    if (live >= this.deps.maxPerNamespace)
      throw new ProcyonError(
        'PROCYON_TOO_MANY_REQUESTS',
        `namespace "${namespace}" already runs ${live} long-running procs, its limit`,
        { details: { retryAfterSeconds: 5 } },
      );
    const request: SpawnRequest = {
      spec: deployed.spec,
      name,
      args: options.args ?? [],
      ...(options.main === undefined ? {} : { main: checkMain(options.main) }),
      ...(options.port === undefined ? {} : { port: options.port }),
    };
    const entry: Entry = { proc: this.deps.start(request), activationId: randomUUID() };
    procs.set(name, entry);
    void entry.proc.waitExit().then((exit) => this.#ended(namespace, entry, exit));
    return this.#info(namespace, entry);
  }

  list(namespace: string, fn?: string): SpawnedInfo[] {
    return [...this.#ns(namespace).values()]
      .filter((e) => fn === undefined || e.proc.request.spec.fn === fn)
      .map((e) => this.#info(namespace, e))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** How many procs are in each state, over all namespaces (for metrics). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = { starting: 0, running: 0, stopping: 0, exited: 0 };
    for (const procs of this.#procs.values())
      for (const { proc } of procs.values()) counts[proc.state] = (counts[proc.state] ?? 0) + 1;
    return counts;
  }

  get(namespace: string, name: string): SpawnedInfo {
    return this.#info(namespace, this.#entry(namespace, name));
  }

  /** Resolves once the proc runs; 502 if it failed to start, 504 if `timeoutMs` passes first. */
  async waitStart(namespace: string, name: string, timeoutMs: number): Promise<SpawnedInfo> {
    const entry = this.#entry(namespace, name);
    await within(
      entry.proc.waitStart().catch((err: unknown) => {
        throw new ProcyonError(
          'PROCYON_INIT_FAILED',
          `proc "${name}" failed to start: ${(err as Error).message}`,
          { cause: err },
        );
      }),
      timeoutMs,
      `proc "${name}" has not started`,
    );
    return this.#info(namespace, entry);
  }

  async waitExit(namespace: string, name: string, timeoutMs: number): Promise<SpawnedInfo> {
    const entry = this.#entry(namespace, name);
    await within(entry.proc.waitExit(), timeoutMs, `proc "${name}" is still running`);
    return this.#info(namespace, entry);
  }

  evict(namespace: string, name: string, graceMs: number): SpawnedInfo {
    const entry = this.#entry(namespace, name);
    entry.proc.evict(graceMs);
    return this.#info(namespace, entry);
  }

  kill(namespace: string, name: string): SpawnedInfo {
    const entry = this.#entry(namespace, name);
    entry.proc.kill();
    return this.#info(namespace, entry);
  }

  logs(namespace: string, name: string): { lines: ReturnType<LongRunningProc['logs']>; dropped: number } {
    const { proc } = this.#entry(namespace, name);
    return { lines: proc.logs(), dropped: proc.logsDropped };
  }

  /** Kills every proc and waits for them (node shutdown: they do not outlive it). */
  async close(): Promise<void> {
    const all = [...this.#procs.values()].flatMap((m) => [...m.values()]);
    for (const { proc } of all) proc.kill();
    await Promise.all(all.map(({ proc }) => proc.waitExit()));
  }

  #ns(namespace: string): Map<string, Entry> {
    let procs = this.#procs.get(namespace);
    if (!procs) this.#procs.set(namespace, (procs = new Map<string, Entry>()));
    return procs;
  }

  #entry(namespace: string, name: string): Entry {
    const entry = this.#procs.get(namespace)?.get(name);
    if (!entry)
      throw new ProcyonError(
        'PROCYON_PROC_NOT_FOUND',
        `no long-running proc "${name}" in namespace "${namespace}"`,
      );
    return entry;
  }

  #ended(namespace: string, entry: Entry, exit: ExitStatus): void {
    const { proc } = entry;
    const { spec } = proc.request;
    const durationMs = Math.max(0, exit.at - proc.startedAt);
    const billedMs = Math.max(1, Math.ceil(durationMs));
    const clean = exit.reason === 'evicted' || (exit.reason === 'exited' && exit.code === 0);
    const lines = proc.logs();
    this.deps.record({
      id: entry.activationId,
      namespace,
      fn: spec.fn,
      version: spec.version,
      trigger: 'spawn',
      start: proc.startedAt,
      durationMs,
      billedMs,
      memoryMb: spec.memoryMb,
      gbSeconds: (spec.memoryMb / 1024) * (billedMs / 1000),
      cpuMs: proc.usage().cpuMs,
      cold: true,
      status: clean ? 'success' : 'error',
      errorCode: clean
        ? null
        : exit.oomKilled
          ? 'PROCYON_MEMORY_LIMIT'
          : exit.reason === 'failed'
            ? 'PROCYON_INIT_FAILED'
            : 'PROCYON_FUNCTION_ERROR',
      logs: lines,
      logsTruncated: proc.logsDropped > 0,
      instance: proc.name,
    });
    this.deps.logger.debug({ namespace, name: proc.name, exit }, 'long-running proc ended');
    // Listed a while longer, so `wait-exit` and `ps` see how it ended; then forgotten.
    setTimeout(() => {
      if (this.#procs.get(namespace)?.get(proc.name) === entry) this.#procs.get(namespace)?.delete(proc.name);
    }, this.deps.keepExitedMs).unref();
  }

  #info(namespace: string, entry: Entry): SpawnedInfo {
    const { proc } = entry;
    const { spec, args, port } = proc.request;
    const usage = proc.usage();
    const end = proc.exit?.at ?? Date.now();
    return {
      namespace,
      fn: spec.fn,
      version: spec.version,
      name: proc.name,
      state: proc.state,
      args,
      ...(port === undefined ? {} : { port }),
      startedAt: new Date(proc.startedAt).toISOString(),
      uptimeMs: end - proc.startedAt,
      memoryBytes: usage.memoryBytes,
      cpuMs: usage.cpuMs,
      logsDropped: proc.logsDropped,
      ...(proc.exit ? { exit: { ...proc.exit, at: new Date(proc.exit.at).toISOString() } } : {}),
      activationId: entry.activationId,
    };
  }
}

/** A relative path inside the artifact: no way out of /var/task. */
function checkMain(main: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$/.test(main) || main.split('/').includes('..'))
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid main "${main.slice(0, 80)}": a file of the artifact, e.g. server.py`,
    );
  return main;
}

/** `promise`, or 504 PROCYON_TIMEOUT after `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ProcyonError('PROCYON_TIMEOUT', `${what} after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
