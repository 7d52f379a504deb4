/**
 * Server-side builds off the event loop (RELIABILITY case 23): while the node type-checks a big
 * TypeScript upload, other calls keep their latency; a type nested past what the checker's stack
 * holds is a 400, never a 500, and the node keeps serving. The node runs in its own process so that
 * the load generator here is not blocked by what it measures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bigTypeScript, deepType } from '../ts-sources.js';
import { nodeApi, startNode, type NodeProcess } from './harness.js';

const HELLO = `export default { fetch() { return new Response('hello'); } };\n`;

/**
 * The bound for a hello's p99 while a big deploy is checked. (ms) The issue asks for 50 ms, and a
 * quiet machine meets it (docs/reliability.md, case 23); but this suite runs beside other test
 * files on two cores, where a hello's p99 without any deploy was 30-240 ms and, during a deploy
 * checked in the worker, up to 470 ms (its V8 GC helper threads share the cores at normal
 * priority). A check on the event loop puts the p99 at the check's duration, seconds (measured:
 * 3-16 s), so the bound is 1 s, or 8x the p99 measured just before the deploy on a machine busier
 * still: both far below what a blocked loop gives, and far above the noise.
 */
const P99_BOUND_MS = 1_000;
const BUSY_FACTOR = 8;
/** How often a hello is sent during the deploy, whether or not the last one answered. (ms) */
const SEND_EVERY_MS = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

describe('builds off the event loop', () => {
  let node: NodeProcess;
  const NS = 'buildbudget';

  before(async () => {
    // A generous time budget: this test is about latency, not about the budget's limit.
    node = await startNode({ env: { PROCYON_BUILD_TIMEOUT_MS: '300000' } });
    assert.equal((await nodeApi(node, 'PUT', `/namespaces/${NS}`)).status, 201);
    const hello = await nodeApi(node, 'PUT', `/namespaces/${NS}/functions/hello`, {
      code: HELLO,
      filename: 'hello.js',
    });
    assert.equal(hello.status, 201, await hello.text());
  });
  after(async () => {
    await node.stop();
  });

  const hello = async (): Promise<number> => {
    const start = performance.now();
    const res = await fetch(`${node.url}/fn/${NS}/hello`);
    assert.equal(await res.text(), 'hello');
    return performance.now() - start;
  };

  /**
   * Hello latencies (ms, sorted) until `until` settles. Open loop: a request every 10 ms however
   * slow the last was, so a stalled event loop shows up as many slow requests, not as one.
   */
  const sample = async (until: Promise<unknown>): Promise<number[]> => {
    let done = false;
    void until.finally(() => (done = true));
    const latencies: Promise<number>[] = [];
    while (!done) {
      latencies.push(hello());
      await new Promise((r) => setTimeout(r, SEND_EVERY_MS));
    }
    return (await Promise.all(latencies)).sort((a, b) => a - b);
  };
  const stats = (s: number[]): string =>
    `${s.length} hellos, p50 ${percentile(s, 0.5).toFixed(1)} ms, p99 ${percentile(s, 0.99).toFixed(1)} ms, max ${(s.at(-1) ?? 0).toFixed(1)} ms`;

  it("a big TypeScript deploy does not raise a hello's p99", async (t) => {
    for (let i = 0; i < 20; i++) await hello(); // warm: an isolate and a kept-alive connection
    // The build worker loads TypeScript once, at normal priority, before it takes its first job
    // (src/build/worker.ts); what is measured here is the upload's own check, at low priority.
    const warm = await nodeApi(node, 'PUT', `/namespaces/${NS}/functions/warm`, {
      code: `export default { fetch(): Response { return new Response('warm'); } };\n`,
      filename: 'warm.ts',
    });
    assert.equal(warm.status, 201, await warm.text());
    const quiet = await sample(new Promise((r) => setTimeout(r, 4_000)));
    const started = performance.now();
    const deploying = nodeApi(node, 'PUT', `/namespaces/${NS}/functions/big`, {
      code: bigTypeScript(120_000),
      filename: 'big.ts',
    });
    const during = await sample(deploying);
    const res = await deploying;
    const deployMs = performance.now() - started;
    assert.equal(res.status, 201, await res.text());
    const bound = Math.max(P99_BOUND_MS, BUSY_FACTOR * percentile(quiet, 0.99));
    const summary = `without a deploy: ${stats(quiet)}; during a ${deployMs.toFixed(0)} ms deploy: ${stats(during)}; bound ${bound.toFixed(1)} ms`;
    t.diagnostic(summary);
    // The deploy must take long enough for the measurement to mean something.
    assert.ok(during.length >= 50, `too few samples: ${summary}`);
    assert.ok(percentile(during, 0.99) < bound, summary);
    const big = await fetch(`${node.url}/fn/${NS}/big`);
    assert.equal(await big.text(), '2');
  });

  it('a type 2,000 deep deploys; one 20,000 deep is a 400 PROCYON_BUILD_BUDGET, and the node serves on', async () => {
    const ok = await nodeApi(node, 'PUT', `/namespaces/${NS}/functions/deep`, {
      code: deepType(2_000),
      filename: 'deep.ts',
    });
    assert.equal(ok.status, 201, await ok.text());
    assert.equal(await (await fetch(`${node.url}/fn/${NS}/deep`)).text(), 'deep');

    const res = await nodeApi(node, 'PUT', `/namespaces/${NS}/functions/deeper`, {
      code: deepType(20_000),
      filename: 'deeper.ts',
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'PROCYON_BUILD_BUDGET');
    assert.match(body.error.message, /^deeper\.ts: types or expressions are nested too deeply/);
    assert.equal((await nodeApi(node, 'GET', `/namespaces/${NS}/functions/deeper`)).status, 404);
    // The worker that overflowed was replaced: the next check works.
    const next = await nodeApi(node, 'PUT', `/namespaces/${NS}/functions/after`, {
      code: `export const n: number = 1;\nexport default { fetch(): Response { return new Response('after'); } };\n`,
      filename: 'after.ts',
    });
    assert.equal(next.status, 201, await next.text());
    assert.ok((await hello()) >= 0);
  });
});
