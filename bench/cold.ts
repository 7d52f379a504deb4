/**
 * Cold starts and what warm isolates hold.
 * - latency: the first request of a freshly deployed version, one after another, end to end over HTTP;
 * - rate: N distinct functions deployed first (not timed), then each called exactly once by C
 *   concurrent clients: N / elapsed is cold starts per second;
 * - memory: the isolate hosts' resident memory before and after those N calls, when each of the N
 *   functions holds one warm isolate, divided by N.
 */
import { deploy, HELLO, metric, quantiles, round, startNode, type Quantiles } from './lib.js';
import { processesRunning, rssBytes } from './measure.js';
import { HOST_MAIN } from './targets/procyon.js';

/** `n` cold starts, each a new version of the same function (its old isolates are retired). */
export async function coldLatency(n: number, stemCells?: number): Promise<Quantiles> {
  const node = await startNode(
    stemCells === undefined ? {} : { env: { PROCYON_STEM_CELLS: String(stemCells) } },
  );
  try {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      // A new constant makes a new version hash: new isolates, so the first request is cold.
      await deploy(node, 'cold', HELLO.replace('Hello', `Hello ${i}`));
      const started = performance.now();
      const res = await fetch(`${node.url}/fn/default/cold`);
      await res.text();
      times.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`cold call ${i}: ${res.status}`);
    }
    return quantiles(times);
  } finally {
    await node.stop();
  }
}

export interface ColdRate {
  functions: number;
  concurrency: number;
  elapsedMs: number;
  perSecond: number;
  /** each call's latency under that concurrency (ms) */
  latencyMs: Quantiles;
}

export interface IdleMemory {
  functions: number;
  /** procs the node reports after the calls (procyon_procs), to show none was evicted */
  warmProcs: number | null;
  hostRssBeforeMiB: number;
  hostRssAfterMiB: number;
  /** (after - before) / functions */
  rssPerIsolateMiB: number;
  /** 4 GiB / rssPerIsolate */
  fitIn4GiB: number;
  /** the node's measured heap of all procs (procyon_proc_memory_bytes) / functions, if it has the gauge */
  procHeapPerIsolateMiB: number | null;
}

const MIB = 2 ** 20;

export async function coldRateAndMemory(
  n: number,
  concurrency: number,
): Promise<{ rate: ColdRate; memory: IdleMemory }> {
  const node = await startNode();
  try {
    for (let i = 0; i < n; i++) await deploy(node, `idle-${i}`, HELLO.replace('Hello', `Hello ${i}`));
    const hosts = processesRunning(node.proc.pid as number, HOST_MAIN);
    const hostRss = (): number => hosts.reduce((sum, pid) => sum + rssBytes(pid), 0);
    const rssBefore = hostRss();
    const heapBefore = await metric(node, 'procyon_proc_memory_bytes');

    const times: number[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      for (let i = next++; i < n; i = next++) {
        const started = performance.now();
        const res = await fetch(`${node.url}/fn/default/idle-${i}`);
        await res.text();
        times.push(performance.now() - started);
        if (res.status !== 200) throw new Error(`cold call idle-${i}: ${res.status}`);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, client));
    const elapsedMs = performance.now() - started;

    // Stem cells refill and the hosts report their heaps every few seconds: let both settle.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const rssAfter = hostRss();
    const heapAfter = await metric(node, 'procyon_proc_memory_bytes');
    const warmProcs = await metric(node, 'procyon_procs');
    const perIsolate = (rssAfter - rssBefore) / n;
    return {
      rate: {
        functions: n,
        concurrency,
        elapsedMs: round(elapsedMs),
        perSecond: Math.round((n * 1000) / elapsedMs),
        latencyMs: quantiles(times),
      },
      memory: {
        functions: n,
        warmProcs: warmProcs ?? null,
        hostRssBeforeMiB: round(rssBefore / MIB, 1),
        hostRssAfterMiB: round(rssAfter / MIB, 1),
        rssPerIsolateMiB: round(perIsolate / MIB, 3),
        fitIn4GiB: Math.floor((4 * 1024 * MIB) / perIsolate),
        procHeapPerIsolateMiB:
          heapBefore === undefined || heapAfter === undefined
            ? null
            : round((heapAfter - heapBefore) / n / MIB, 3),
      },
    };
  } finally {
    await node.stop();
  }
}
