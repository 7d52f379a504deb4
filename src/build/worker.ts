/**
 * Runs INSIDE a build worker thread (pool.ts starts it): type-checks one uploaded source per
 * message, so the compiler's seconds of synchronous work never run on the node's event loop.
 * (esbuild already runs in its own process; a worker that started it would leave it a zombie when
 * terminated, so bundling stays with the node.)
 * The worker lives across jobs, which keeps TypeScript loaded and its parsed lib files cached
 * (typecheck.ts); the pool terminates it when a job exceeds its time or memory budget.
 *
 * It warms up first, at normal priority: loading TypeScript and parsing its lib files is a fixed
 * cost (~1-2 s of CPU), the same for every worker, that no budget should charge to an upload and
 * that would take a minute at low priority on a busy machine. Only then does it lower its
 * priority and say it is ready; uploads, whose cost the user controls, run at low priority.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { BuildJob, BuildReply, FromWorker } from './protocol.js';
import { typecheckSource } from './typecheck.js';

const port = parentPort;
// Invariants: the pool starts this file as a worker thread, and the warm-up source type-checks.
if (port === null) throw new Error('build/worker.js runs only as a worker thread');

const WARM_UP = `export default { fetch(r: Request): Response { return new Response(r.url); } };\n`;
const checked = await typecheckSource(WARM_UP, 'warm-up.ts');
if (!checked.ok) throw new Error(`build worker warm-up failed: ${checked.error.message}`);
lowerPriority((workerData as { nice: number }).nice);

port.on('message', (job: BuildJob) => {
  void run(job).then((reply) => port.postMessage(reply satisfies FromWorker));
});
port.postMessage({ ready: true } satisfies FromWorker);

async function run(job: BuildJob): Promise<BuildReply> {
  try {
    return { id: job.id, result: await typecheckSource(job.code, job.filename) };
  } catch (err) {
    // The compiler recurses once per nesting level of a type or expression: a type nested a few
    // thousand deep overflows the stack. That is the source's fault, not the node's.
    if (err instanceof RangeError && /call stack/i.test(err.message)) return { id: job.id, failure: 'stack' };
    return { id: job.id, failure: 'internal', message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Gives this thread, and only this thread, a lower OS priority: a build is background work, and at
 * normal priority its seconds of CPU took a core's share from the event loop and the isolate hosts
 * (a hello's p99 went from ~20 to ~300 ms on a busy 2-core machine). Linux's setpriority applies to
 * one thread when given a thread id, found through /proc/thread-self; elsewhere the worker keeps
 * normal priority, which is only less fair.
 */
function lowerPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // No /proc, or not permitted: see above.
  }
}
