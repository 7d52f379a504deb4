/**
 * The native driver (docs/native-driver.md), in one run on this machine:
 * - warm: one invocation of a warm sandbox, per runtime (python3, nodejs, a sh+curl custom bootstrap);
 * - cold from the pool: the first invocation of a freshly deployed version while a booted runtime
 *   waits in the pool (SigmaOS's proc start is the yardstick: 7.7 ms; our target < 10 ms p50);
 * - cold without a pool: the same with PROCYON_NATIVE_POOL=0, so the sandbox and runtime boot;
 * - starts per second: N distinct functions, each called once by C concurrent clients.
 * Every figure is end to end through the node's invoke API, as a client sees it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packDirectory } from '../src/artifacts/index.js';
import { quantiles, round, startNode, type NodeProcess, type Quantiles } from './lib.js';

type Runtime = 'python3' | 'nodejs' | 'custom';

const SOURCES: Record<Runtime, (tag: string) => Record<string, string>> = {
  python3: (tag) => ({ 'app.py': `def handler(event, context):\n    return {"tag": "${tag}"}\n` }),
  nodejs: (tag) => ({ 'app.mjs': `export const handler = async () => ({ tag: '${tag}' });\n` }),
  custom: (tag) => ({
    bootstrap: `#!/bin/sh\nAPI="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"\nwhile true; do\n  H="$(mktemp)"\n  curl -sS -LD "$H" "$API/invocation/next" > /dev/null\n  ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2)"\n  curl -sS -X POST "$API/invocation/$ID/response" -d '{"tag":"${tag}"}' > /dev/null\ndone\n`,
  }),
};

async function artifact(runtime: Runtime, tag: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-bench-program-'));
  for (const [name, content] of Object.entries(SOURCES[runtime](tag)))
    writeFileSync(join(dir, name), content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  return (await packDirectory(dir)).toString('base64');
}

async function api(node: NodeProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${node.key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

async function deployProgram(node: NodeProcess, name: string, runtime: Runtime, tag: string): Promise<void> {
  await api(node, 'PUT', `/namespaces/default/functions/${name}`, {
    runtime,
    artifact: await artifact(runtime, tag),
    ...(runtime === 'custom' ? {} : { handler: 'app.handler' }),
  });
}

async function timedInvoke(node: NodeProcess, name: string): Promise<number> {
  const t0 = performance.now();
  await api(node, 'POST', `/namespaces/default/functions/${name}/invoke`, {});
  return performance.now() - t0;
}

export interface NativeDriverResults {
  warmMs: Record<Runtime, Quantiles>;
  coldFromPoolMs: Record<'python3' | 'nodejs', Quantiles>;
  coldNoPoolMs: Record<Runtime, Quantiles>;
  startsPerSecond: { functions: number; concurrency: number; perSecond: number; latencyMs: Quantiles };
}

export interface NativeDriverSettings {
  nativeWarmN: number;
  nativeColdN: number;
  nativeRateN: number;
  coldConcurrency: number;
}

/** `n` first calls of freshly deployed versions of one function (deploy time not counted). */
async function coldStarts(
  node: NodeProcess,
  runtime: Runtime,
  n: number,
  settleMs: number,
): Promise<Quantiles> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await deployProgram(node, `cold-${runtime}`, runtime, `v${i}`);
    // Lets the pool refill after the previous start (its refill is not what is measured).
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    times.push(await timedInvoke(node, `cold-${runtime}`));
  }
  return quantiles(times);
}

export async function nativeDriverBench(s: NativeDriverSettings): Promise<NativeDriverResults> {
  const runtimes: Runtime[] = ['python3', 'nodejs', 'custom'];
  const pooled = await startNode({ env: { PROCYON_NATIVE_POOL: '1', PROCYON_AUTOSCALE_TICK_MS: '100' } });
  const warmMs = {} as Record<Runtime, Quantiles>;
  const coldFromPoolMs = {} as Record<'python3' | 'nodejs', Quantiles>;
  try {
    for (const runtime of runtimes) {
      await deployProgram(pooled, `warm-${runtime}`, runtime, 'warm');
      await timedInvoke(pooled, `warm-${runtime}`);
      const times: number[] = [];
      for (let i = 0; i < s.nativeWarmN; i++) times.push(await timedInvoke(pooled, `warm-${runtime}`));
      warmMs[runtime] = quantiles(times);
    }
    for (const runtime of ['python3', 'nodejs'] as const) {
      await deployProgram(pooled, `cold-${runtime}`, runtime, 'prime');
      await timedInvoke(pooled, `cold-${runtime}`);
      coldFromPoolMs[runtime] = await coldStarts(pooled, runtime, s.nativeColdN, 300);
    }
  } finally {
    await pooled.stop();
  }
  const bare = await startNode({ env: { PROCYON_NATIVE_POOL: '0' } });
  const coldNoPoolMs = {} as Record<Runtime, Quantiles>;
  let startsPerSecond: NativeDriverResults['startsPerSecond'];
  try {
    for (const runtime of runtimes) coldNoPoolMs[runtime] = await coldStarts(bare, runtime, s.nativeColdN, 0);
    for (let i = 0; i < s.nativeRateN; i++) await deployProgram(bare, `rate-${i}`, 'python3', `r${i}`);
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: s.coldConcurrency }, async () => {
        while (next < s.nativeRateN) latencies.push(await timedInvoke(bare, `rate-${next++}`));
      }),
    );
    const elapsed = performance.now() - t0;
    startsPerSecond = {
      functions: s.nativeRateN,
      concurrency: s.coldConcurrency,
      perSecond: round((s.nativeRateN / elapsed) * 1000, 1),
      latencyMs: quantiles(latencies),
    };
  } finally {
    await bare.stop();
  }
  return { warmMs, coldFromPoolMs, coldNoPoolMs, startsPerSecond };
}

export function nativeDriverTable(r: NativeDriverResults): string {
  const q = (x: Quantiles | undefined): string => (x ? `p50 ${x.p50} / p99 ${x.p99} ms` : '-');
  const rows: [string, string][] = [];
  for (const rt of ['python3', 'nodejs', 'custom'] as const)
    rows.push([`warm invoke, ${rt}`, q(r.warmMs[rt])]);
  for (const rt of ['python3', 'nodejs'] as const)
    rows.push([`cold start from the pool, ${rt}`, q(r.coldFromPoolMs[rt])]);
  for (const rt of ['python3', 'nodejs', 'custom'] as const)
    rows.push([`cold start, no pool, ${rt}`, q(r.coldNoPoolMs[rt])]);
  rows.push([
    `cold starts per second (${r.startsPerSecond.functions} python3 functions, ${r.startsPerSecond.concurrency} clients)`,
    `${r.startsPerSecond.perSecond}/s`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
