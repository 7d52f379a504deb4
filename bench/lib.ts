/** Shared pieces of the benchmark programs: starting targets, load, percentiles. */
import autocannon from 'autocannon';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface NodeProc {
  url: string;
  key: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `procyon serve` in its own process, as a user would. */
export async function startNode(): Promise<NodeProc> {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-bench-'));
  const ready = join(dir, 'ready.json');
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      '0',
      '--data-dir',
      join(dir, 'data'),
      '--ready-file',
      ready,
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (let i = 0; i < 300 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(ready)) throw new Error('node did not start');
  const { url } = JSON.parse(readFileSync(ready, 'utf8')) as { url: string };
  const key = readFileSync(join(dir, 'data', 'admin.key'), 'utf8').trim();
  return { url, key, proc, stop: () => stopChild(proc) };
}

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
  node: NodeProc,
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
