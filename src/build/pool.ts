/**
 * The node's side of server-side type checks: uploaded TypeScript is checked in worker threads
 * (worker.ts), never on the event loop. Checking a 2.4 MB TypeScript upload on the loop stalled
 * every request on the node for 9-15 s; in a worker, other requests keep their latency. (Bundling
 * needs no worker: esbuild runs in its own process, and the loop only awaits it.)
 *
 * Each job has a budget: wall time (a timer here) and heap (the worker's `resourceLimits`). A job
 * past either, or a compiler stack overflow, is the upload's fault: 400 `PROCYON_BUILD_BUDGET`.
 * A worker past its budget is terminated and a fresh one started for the next job, so a runaway
 * check never holds a worker, and no worker failure reaches the node's own process.
 *
 * Workers start on the first job and stay, keeping the compiler's parsed lib files warm for later
 * jobs. A worker warms up (loads TypeScript, ~1-2 s of CPU) before it says it is ready; a job's
 * budget starts when a ready worker takes it, so no upload pays for the warm-up.
 */
import { Worker } from 'node:worker_threads';
import { ProcyonError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isTypeScript, type TypecheckResult } from './typecheck.js';
import type { BuildJob, BuildReply, FromWorker } from './protocol.js';

export interface BuildPoolOptions {
  /** Worker threads at most; more jobs wait in a queue. */
  workers: number;
  /** Wall time one job may take once a worker runs it. (ms) */
  timeoutMs: number;
  /** Heap one worker may grow to (V8 old generation). (MB) */
  memoryMb: number;
  logger: Logger;
}

/** Jobs that may wait for a worker; beyond it, 429. Uploads are up to 20 MiB each. */
const QUEUE_LIMIT = 32;

/** OS priority of a build worker thread: below the event loop and the isolate hosts (worker.ts). */
const BUILD_NICE = 19;

const WORKER_URL = new URL('./worker.js', import.meta.url);

interface Pending {
  job: BuildJob;
  resolve: (result: TypecheckResult) => void;
  reject: (err: ProcyonError) => void;
}

/** One worker thread and the job it runs, if any. */
interface Slot {
  worker: Worker;
  running: (Pending & { timer: NodeJS.Timeout }) | undefined;
  /** Set once the worker has warmed up and can take jobs. */
  ready: boolean;
  /** Set once the worker is terminated or died: its events after that are ignored. */
  dead: boolean;
}

export class BuildPool {
  readonly #opts: BuildPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: BuildPoolOptions) {
    this.#opts = opts;
  }

  /**
   * Type-checks `code` in a worker when `filename` is TypeScript; JavaScript passes without one.
   * Type errors resolve as `{ ok: false }`; budgets and a full queue reject with a ProcyonError.
   */
  check(code: string, filename: string): Promise<TypecheckResult> {
    if (!isTypeScript(filename)) return Promise.resolve({ ok: true });
    if (this.#closed)
      return Promise.reject(new ProcyonError('PROCYON_SHUTTING_DOWN', 'the node is stopping'));
    if (this.#queue.length >= QUEUE_LIMIT) {
      return Promise.reject(
        new ProcyonError(
          'PROCYON_TOO_MANY_REQUESTS',
          'too many deploys are being built on this node; retry',
          {
            details: { retryAfterSeconds: 1 },
          },
        ),
      );
    }
    return new Promise<TypecheckResult>((resolve, reject) => {
      this.#queue.push({ job: { id: this.#nextId++, code, filename }, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates every worker; queued and running jobs fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const stopping = new ProcyonError('PROCYON_SHUTTING_DOWN', 'the node is stopping');
    for (const p of this.#queue.splice(0)) p.reject(stopping);
    await Promise.all([...this.#slots].map((slot) => this.#discard(slot, stopping)));
  }

  /** Hands queued jobs to idle workers; starts a worker, up to the limit, when none is idle. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idle.pop();
      if (slot === undefined) {
        // A starting worker takes the queue once it is ready.
        if (this.#slots.size < this.#opts.workers && ![...this.#slots].some((s) => !s.ready)) this.#spawn();
        return;
      }
      this.#run(slot, this.#queue.shift() as Pending);
    }
  }

  #run(slot: Slot, pending: Pending): void {
    const timer = setTimeout(() => {
      void this.#discard(
        slot,
        budget(
          pending.job.filename,
          `type-checking took longer than the node's build time budget (${this.#opts.timeoutMs} ms)`,
        ),
      );
    }, this.#opts.timeoutMs);
    slot.running = { ...pending, timer };
    slot.worker.postMessage(pending.job);
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.memoryMb },
      workerData: { nice: BUILD_NICE },
    });
    // An idle worker must not keep a stopping process alive.
    worker.unref();
    const slot: Slot = { worker, running: undefined, ready: false, dead: false };
    this.#slots.add(slot);
    worker.on('message', (message: FromWorker) => {
      if (!('ready' in message)) return this.#reply(slot, message);
      slot.ready = true;
      this.#idle.push(slot);
      this.#dispatch();
    });
    // Without an 'error' listener a worker's failure would be thrown in the node's process.
    worker.on('error', (err: Error & { code?: string }) => {
      const running = slot.running;
      const name = running?.job.filename ?? 'build';
      const failure =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? budget(
              name,
              `type-checking needed more memory than the node's build memory budget (${this.#opts.memoryMb} MB)`,
            )
          : new ProcyonError('PROCYON_INTERNAL', 'the build worker failed', { cause: err });
      if (failure.code === 'PROCYON_INTERNAL') this.#opts.logger.error({ err }, 'build worker failed');
      void this.#discard(slot, failure);
    });
    worker.on('exit', (exitCode) => {
      void this.#discard(
        slot,
        new ProcyonError('PROCYON_INTERNAL', `the build worker exited (code ${exitCode})`),
      );
    });
    return slot;
  }

  #reply(slot: Slot, reply: BuildReply): void {
    const running = slot.running;
    if (slot.dead || running === undefined || running.job.id !== reply.id) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    if ('result' in reply) {
      running.resolve(reply.result);
      this.#idle.push(slot);
      this.#dispatch();
      return;
    }
    running.reject(
      reply.failure === 'stack'
        ? budget(running.job.filename, 'types or expressions are nested too deeply for the type checker')
        : new ProcyonError('PROCYON_INTERNAL', `build failed: ${reply.message}`),
    );
    // After a stack overflow the compiler's state is unknown: a fresh worker takes the next job.
    void this.#discard(slot);
  }

  /** Terminates a worker, failing its job with `failure`, and lets a fresh one take the queue. */
  async #discard(slot: Slot, failure?: ProcyonError): Promise<void> {
    if (slot.dead) return;
    slot.dead = true;
    // A worker that dies before it is ready cannot check anything (TypeScript would not load):
    // fail what waits rather than start worker after worker.
    if (!slot.ready && !this.#closed) {
      const cannot = new ProcyonError('PROCYON_INTERNAL', 'the build worker could not start', {
        cause: failure,
      });
      for (const p of this.#queue.splice(0)) p.reject(cannot);
    }
    this.#slots.delete(slot);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    const running = slot.running;
    slot.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      running.reject(failure ?? new ProcyonError('PROCYON_INTERNAL', 'the build worker stopped'));
    }
    if (!this.#closed) this.#dispatch();
    await slot.worker.terminate();
  }
}

function budget(filename: string, what: string): ProcyonError {
  return new ProcyonError(
    'PROCYON_BUILD_BUDGET',
    `${filename}: ${what}; split the module or simplify its types, or deploy ` +
      `with the CLI, which checks on your machine and uploads JavaScript`,
  );
}
