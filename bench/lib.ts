/** Shared pieces of the benchmark programs: starting targets, load, percentiles. */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A node in its own process, started as a user would (`procyon serve`); shared with the e2e tests. */
export { startNode, type NodeProcess } from '../test/e2e/harness.js';
import type { NodeProcess } from '../test/e2e/harness.js';

export async function startPlain(): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = fork(fileURLToPath(new URL('./plain-server.js', import.meta.url)), { stdio: 'inherit' });
  const url = await new Promise<string>((resolve) =>
    proc.once('message', (m: { url: string }) => resolve(m.url)),
  );
  return { url, stop: () => stopChild(proc) };
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

export async function deploy(
  node: NodeProcess,
  name: string,
  code: string,
  routes: string[] = [],
): Promise<void> {
  const res = await fetch(`${node.url}/api/v1/namespaces/default/functions/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${node.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code, filename: `${name}.js`, routes }),
  });
  if (!res.ok) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function load(url: string, seconds: number, connections: number): Promise<LoadResult> {
  const r = await autocannon({ url, duration: seconds, connections, pipelining: 1 });
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
