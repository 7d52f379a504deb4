/**
 * `npm run bench`: where the foundation stands against its anchors, measured side by side in one
 * run on this machine. (a) cold start: the first request of N fresh versions, end to end over
 * HTTP, with and without stem cells; (b) warm throughput: the hello function on Procyon against a plain Node `http` server
 * returning the same body, with the same load generator (autocannon) and settings.
 * Writes bench/results/foundation.json. Knobs: BENCH_COLD_N, BENCH_SECONDS, BENCH_CONNECTIONS.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { deploy, load, percentile, round, startNode, startPlain } from './lib.js';

const COLD_N = Number(process.env.BENCH_COLD_N ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

const HELLO = `export default { fetch() { return new Response('Hello, world!\\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } }); } };`;

async function coldStarts(
  stemCells?: number,
): Promise<{ n: number; p50: number; p99: number; mean: number }> {
  const node = await startNode(
    stemCells === undefined ? {} : { env: { PROCYON_STEM_CELLS: String(stemCells) } },
  );
  try {
    const times: number[] = [];
    for (let i = 0; i < COLD_N; i++) {
      // A new constant makes a new version hash: new isolates, so the first request is cold.
      await deploy(node, 'cold', HELLO.replace('Hello', `Hello ${i}`));
      const t0 = performance.now();
      const res = await fetch(`${node.url}/fn/default/cold`);
      await res.text();
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`cold call ${i}: ${res.status}`);
    }
    times.sort((a, b) => a - b);
    return {
      n: times.length,
      p50: round(percentile(times, 50)),
      p99: round(percentile(times, 99)),
      mean: round(times.reduce((a, b) => a + b, 0) / times.length),
    };
  } finally {
    await node.stop();
  }
}

async function warm() {
  const node = await startNode();
  const plain = await startPlain();
  try {
    await deploy(node, 'hello', HELLO, ['GET /hello']);
    const url = `${node.url}/hello`;
    if ((await (await fetch(url)).text()) !== 'Hello, world!\n') throw new Error('hello answered wrongly');
    await load(url, 2, CONNECTIONS); // warm the pool and the JIT
    await load(plain.url, 2, CONNECTIONS);
    const procyon = await load(url, SECONDS, CONNECTIONS);
    const baseline = await load(plain.url, SECONDS, CONNECTIONS);
    return { procyon, plainNode: baseline, ratio: round(procyon.rps / baseline.rps, 3) };
  } finally {
    await node.stop();
    await plain.stop();
  }
}

const started = new Date().toISOString();
console.log(`cold start: ${COLD_N} fresh versions...`);
const cold = await coldStarts();
// The same measurement with no stem cells: what a cold start costs when it makes its isolate.
const coldNoStems = await coldStarts(0);
console.log(`warm: ${SECONDS}s x ${CONNECTIONS} connections, Procyon then plain Node...`);
const w = await warm();
const result = {
  bench: 'foundation',
  command: 'npm run bench',
  started,
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
  },
  // The in-isolate runtime is snapshotted; its size is what a cold start must not grow with.
  preludeBytes: statSync(fileURLToPath(new URL('../runtime/prelude.js', import.meta.url))).size,
  settings: {
    coldN: COLD_N,
    seconds: SECONDS,
    connections: CONNECTIONS,
    loadGenerator: 'autocannon (in the bench process)',
  },
  coldStartMs: cold,
  coldStartNoStemCellsMs: coldNoStems,
  warm: w,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/foundation.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(`
| measure | Procyon | plain Node http | ratio |
|---|---|---|---|
| warm req/s | ${w.procyon.rps} | ${w.plainNode.rps} | ${w.ratio} |
| warm p50 / p99 latency (ms) | ${w.procyon.p50} / ${w.procyon.p99} | ${w.plainNode.p50} / ${w.plainNode.p99} | |
| cold start, first request of a new version, p50 / p99 (ms) | ${cold.p50} / ${cold.p99} | | |
| the same without stem cells, p50 / p99 (ms) | ${coldNoStems.p50} / ${coldNoStems.p99} | | |
errors: procyon ${w.procyon.errors} (non-2xx ${w.procyon.non2xx}), plain ${w.plainNode.errors}
written: bench/results/foundation.json`);
