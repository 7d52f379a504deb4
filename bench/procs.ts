/**
 * Stateful processes (issue 6, DESIGN §9): on one node started as a user starts it,
 * - message round trip between two processes (the ping-pong example's `call` series, timed inside
 *   Ping: the isolate clock has millisecond steps, so the mean over the series is what is exact),
 * - the same exchange through KV storage (the baseline, as PraaS compares with S3): two function
 *   calls running at once, one writing `ping:i` and polling for `pong:i`, the other the reverse,
 * - throughput of one hot instance (autocannon on one Counter's HTTP),
 * - swap-out (evict) and swap-in (first event after it, reading all storage back) with 1 KB, 1 MB
 *   and 10 MB of storage, and the revival latency of a swapped-out instance that reads one key.
 */
import { fileURLToPath } from 'node:url';
import { bundleEntry, formatBuildError } from '../src/build/index.js';
import { deploy, quantiles, round, startNode, type NodeProcess, type Quantiles } from './lib.js';
import { load, type LoadResult } from './load.js';

export interface ProcsSettings {
  /** round trips in the message series */
  rounds: number;
  /** swap-out / swap-in repetitions per storage size */
  swapRepeats: number;
  seconds: number;
  connections: number;
}

export interface SwapResult {
  storageBytes: number;
  /** the evict API call, end to end (ms) */
  swapOutMs: Quantiles;
  /** first request after the evict, which reads every key back (ms) */
  swapInMs: Quantiles;
}

export interface ProcsResult {
  messageRoundTrip: { rounds: number; meanMs: number };
  kvExchangeRoundTrip: { rounds: number; meanMs: number };
  hotInstance: LoadResult;
  swap: SwapResult[];
  /** first request after an evict, reading one key (ms) */
  revivalMs: Quantiles;
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Stores `bytes` in 64 KiB values; `GET .../sum` reads every key back and counts the bytes. */
const FILLER = `
export class Filler {
  constructor(ctx) { this.ctx = ctx; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.endsWith('/fill')) {
      const bytes = Number(url.searchParams.get('bytes'));
      const chunk = 65536;
      for (let at = 0, i = 0; at < bytes; at += chunk, i++)
        this.ctx.storage.put('chunk:' + String(i).padStart(6, '0'), new Uint8Array(Math.min(chunk, bytes - at)).fill(i % 251));
      return Response.json({ filled: bytes });
    }
    let total = 0;
    for (const value of (await this.ctx.storage.list({ prefix: 'chunk:' })).values()) total += value.byteLength;
    return Response.json({ total });
  }
}`;

/** One side of a round trip through KV: `role` ping writes ping:i and waits for pong:i. */
const KV_EXCHANGE = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const role = url.searchParams.get('role');
    const run = url.searchParams.get('run');
    const rounds = Number(url.searchParams.get('rounds'));
    const [mine, theirs] = role === 'ping' ? ['ping', 'pong'] : ['pong', 'ping'];
    const t0 = Date.now();
    for (let i = 0; i < rounds; i++) {
      if (role === 'ping') await env.X.put(run + mine + i, '1');
      while ((await env.X.get(run + theirs + i)) === null) {}
      if (role === 'pong') await env.X.put(run + mine + i, '1');
    }
    const totalMs = Date.now() - t0;
    return Response.json({ rounds, totalMs, meanMs: totalMs / rounds });
  },
};`;

async function bundled(file: string): Promise<string> {
  const built = await bundleEntry(`${EXAMPLES}${file}`);
  if (!built.ok) throw new Error(`${file}: ${formatBuildError(built.error)}`);
  return built.code;
}

async function getJson(
  node: NodeProcess,
  path: string,
  init?: RequestInit,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${node.url}${path}`, init);
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function evict(node: NodeProcess, className: string, name: string): Promise<Record<string, unknown>> {
  return getJson(node, `/api/v1/namespaces/default/procs/${className}/${name}/evict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.key}` },
  });
}

export async function processBench(s: ProcsSettings): Promise<ProcsResult> {
  const node = await startNode();
  try {
    const pingPong = await bundled('ping-pong.ts');
    await deploy(node, 'Ping', pingPong, { process: 'Ping' });
    await deploy(node, 'Pong', pingPong, { process: 'Pong' });
    await deploy(node, 'Counter', await bundled('counter-process.ts'), { process: 'Counter' });
    await deploy(node, 'Filler', FILLER, { process: 'Filler' });
    await deploy(node, 'kvx', KV_EXCHANGE, { kv: { X: 'exchange' }, timeout: 120_000 });

    // Warm both processes (and the JIT), then the measured series.
    await getJson(node, '/p/default/Ping/bench/call?rounds=200');
    const rtt = await getJson(node, `/p/default/Ping/bench/call?rounds=${s.rounds}`);

    const kvRounds = Math.max(10, Math.floor(s.rounds / 10));
    const side = (role: string, run: string) =>
      getJson(node, `/fn/default/kvx?role=${role}&run=${run}&rounds=${kvRounds}`);
    await Promise.all([side('pong', 'warm'), side('ping', 'warm')]);
    const [kvPing] = await Promise.all([side('ping', 'run'), side('pong', 'run')]);

    await getJson(node, '/p/default/Counter/hot', { method: 'POST' });
    const hotInstance = await load(`${node.url}/p/default/Counter/hot`, s.seconds, s.connections);

    const swap: SwapResult[] = [];
    for (const bytes of [1_000, 1_000_000, 10_000_000]) {
      const name = `size-${bytes}`;
      await getJson(node, `/p/default/Filler/${name}/fill?bytes=${bytes}`);
      const outs: number[] = [];
      const ins: number[] = [];
      for (let i = 0; i < s.swapRepeats; i++) {
        outs.push(await timed(() => evict(node, 'Filler', name)));
        ins.push(
          await timed(async () => {
            const { total } = await getJson(node, `/p/default/Filler/${name}/sum`);
            if (total !== bytes)
              throw new Error(`Filler ${name} read back ${String(total)} of ${bytes} bytes`);
          }),
        );
      }
      swap.push({ storageBytes: bytes, swapOutMs: quantiles(outs), swapInMs: quantiles(ins) });
    }

    const revivals: number[] = [];
    for (let i = 0; i < s.swapRepeats; i++) {
      await evict(node, 'Counter', 'hot');
      revivals.push(await timed(() => getJson(node, '/p/default/Counter/hot')));
    }
    return {
      messageRoundTrip: { rounds: s.rounds, meanMs: round(Number(rtt.meanMs), 4) },
      kvExchangeRoundTrip: { rounds: kvRounds, meanMs: round(Number(kvPing.meanMs), 4) },
      hotInstance,
      swap,
      revivalMs: quantiles(revivals),
    };
  } finally {
    await node.stop();
  }
}

/** The README's rows for processes, from one result. */
export function procsTable(r: ProcsResult): string {
  const rows: [string, string][] = [
    [
      'message round trip, two processes (mean)',
      `${r.messageRoundTrip.meanMs} ms (target < 0.1 ms p50; PraaS 0.39 ms)`,
    ],
    ['same exchange through KV storage (mean)', `${r.kvExchangeRoundTrip.meanMs} ms`],
    ['one hot instance, HTTP', `${Math.round(r.hotInstance.rps)} req/s, p99 ${r.hotInstance.p99} ms`],
    ...r.swap.map((w): [string, string] => [
      `swap out / in, ${w.storageBytes.toLocaleString('en')} B of storage (p50)`,
      `${w.swapOutMs.p50} ms / ${w.swapInMs.p50} ms`,
    ]),
    ['revival of a swapped-out instance (p50 / p99)', `${r.revivalMs.p50} / ${r.revivalMs.p99} ms`],
  ];
  return ['| process measure | result |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
}
