/** Shared pieces of the benchmark: the hello function, percentiles, and a node's API. */

/** A node in its own process, started as a user would (`procyon serve`); shared with the e2e tests. */
export { startNode, type NodeProcess } from '../test/e2e/harness.js';
import { nodeApi as api, type NodeProcess } from '../test/e2e/harness.js';

/** The one function every target serves: a Workers-style module, byte for byte the same everywhere. */
export const HELLO_BODY = 'Hello, world!\n';
export const HELLO = `export default { fetch() { return new Response(${JSON.stringify(HELLO_BODY)}, { headers: { 'content-type': 'text/plain; charset=utf-8' } }); } };`;

/** A function that never returns: it holds a core until its timeout ends the call. */
export const HOG = 'export default { fetch() { for (;;) {} } };';

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface Quantiles {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Sorts `times` (ms) in place and summarises them. */
export function quantiles(times: number[]): Quantiles {
  times.sort((a, b) => a - b);
  return {
    n: times.length,
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    mean: round(times.reduce((a, b) => a + b, 0) / times.length),
  };
}

export interface DeployOptions {
  namespace?: string;
  routes?: string[];
  /** ms */
  timeout?: number;
  /** Deploy the module's export of this name as a process class. */
  process?: string;
  /** KV bindings: binding name → KV namespace. */
  kv?: Record<string, string>;
}

export async function deploy(
  node: NodeProcess,
  name: string,
  code: string,
  opts: DeployOptions = {},
): Promise<void> {
  const { namespace = 'default', routes = [], timeout, process, kv } = opts;
  const res = await api(node, 'PUT', `/namespaces/${namespace}/functions/${name}`, {
    code,
    filename: `${name}.js`,
    routes,
    ...(timeout === undefined ? {} : { timeout }),
    ...(process === undefined ? {} : { process: { className: process } }),
    ...(kv === undefined ? {} : { kv }),
  });
  if (!res.ok) throw new Error(`deploy ${namespace}/${name}: ${res.status} ${await res.text()}`);
}

export async function createNamespace(node: NodeProcess, namespace: string): Promise<void> {
  const res = await api(node, 'PUT', `/namespaces/${namespace}`);
  if (!res.ok) throw new Error(`create namespace ${namespace}: ${res.status} ${await res.text()}`);
}

/** The sum of every series of one metric on the node's /metrics; undefined if the node has none. */
export async function metric(node: NodeProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    // `name 123` or `name{labels} 123`; not `name_suffix`.
    if (!line.startsWith(name) || !/^[ {]/.test(line.slice(name.length))) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
