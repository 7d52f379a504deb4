/**
 * The scheduler on a real node: keep-alive and scale to zero, spreading a hot function over both
 * isolate hosts, the memory budget's LRU eviction, and what /metrics says about procs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../wait.js';
import { startTestNode, type TestNode } from './node.js';

const HELLO = `export default { fetch() { return new Response('hi'); } };`;
const SLOW = `export default { async fetch() { await new Promise((r) => setTimeout(r, 150)); return new Response('done'); } };`;

function versionRow(t: TestNode, fn: string) {
  return t.node.driver.scheduler.stats().versions.find((v) => v.fn === fn);
}

/**
 * A local server that holds every request until `open()`: a function that fetches it stays in
 * flight exactly as long as the test needs, however slow the machine (no guessed sleep).
 */
async function startGate(): Promise<{
  code: string;
  extra: Record<string, unknown>;
  open(): void;
  close(): void;
}> {
  const held: ServerResponse[] = [];
  let opened = false;
  // Requests may reach it after open(): the node's HTTP client may queue some per host.
  const server = createServer((_req, res) => (opened ? res.end('open') : held.push(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    code: `export default { async fetch() { await (await fetch('http://127.0.0.1:${port}/')).text(); return new Response('done'); } };`,
    extra: { egress: { allow: [`127.0.0.1:${port}`] }, timeout: 60_000 },
    open: () => {
      opened = true;
      for (const res of held.splice(0)) res.end('open');
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('scheduler: keep-alive and scale to zero', () => {
  let t: TestNode;
  before(async () => {
    // Long enough that the second call finds the proc warm on a loaded machine, short enough to wait out.
    t = await startTestNode({ keepAliveMs: 3_000, autoscaleTickMs: 100, autoscaleWindowMs: 500 });
  });
  after(() => t.stop());

  it('keeps a warm proc between calls, then scales the function to zero; the next call is cold', async () => {
    // One proc at most: a second one the autoscaler might add on a slow machine would be ready
    // after the last call and go as surplus ('scaledown'), not for its keep-alive.
    assert.equal((await t.deploy('hello', HELLO, { scaling: { maxInstances: 1 } })).status, 201);
    const first = await fetch(`${t.url}/fn/default/hello`);
    assert.equal(await first.text(), 'hi');
    const id1 = first.headers.get('x-procyon-activation-id');
    const second = await fetch(`${t.url}/fn/default/hello`);
    await second.text();
    const id2 = second.headers.get('x-procyon-activation-id');
    assert.ok((versionRow(t, 'hello')?.idle ?? 0) >= 1, 'a warm proc between calls');
    await waitFor(() => (versionRow(t, 'hello')?.idle ?? 0) === 0, {
      timeoutMs: 20_000,
      what: 'scale to zero',
    });
    const third = await fetch(`${t.url}/fn/default/hello`);
    await third.text();
    const id3 = third.headers.get('x-procyon-activation-id');
    await t.node.recorder.flush();
    const cold = async (id: string | null) =>
      (await t.api('GET', `/api/v1/namespaces/default/activations/${id}`)).body.cold;
    assert.deepEqual([await cold(id1), await cold(id2), await cold(id3)], [true, false, true]);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /procyon_proc_evictions_total\{reason="keepalive"\} [1-9]/);
  });
});

describe('scheduler: placement and metrics', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ isolateHosts: 2 });
  });
  after(() => t.stop());

  it('spreads concurrent calls of one function over both isolate hosts', async () => {
    const gate = await startGate();
    try {
      assert.equal((await t.deploy('slow', gate.code, gate.extra)).status, 201);
      const calls = Array.from({ length: 6 }, () => fetch(`${t.url}/fn/default/slow`).then((r) => r.text()));
      const row = await waitFor(
        () => (versionRow(t, 'slow')?.busy === 6 ? versionRow(t, 'slow') : undefined),
        {
          what: 'six calls in flight',
        },
      );
      assert.deepEqual(row.perHost, [3, 3, 0]);
      gate.open();
      assert.deepEqual(await Promise.all(calls), Array(6).fill('done'));
    } finally {
      gate.close();
    }
  });

  it('reports procs per function and state, queue depth and memory on /metrics', async () => {
    assert.equal((await t.deploy('metered', HELLO)).status, 201);
    assert.equal(await (await fetch(`${t.url}/fn/default/metered`)).text(), 'hi');
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${t.url}/metrics`)).text();
        // Hosts report measured memory every 2 s: wait for a report, too.
        const ready =
          /procyon_procs\{namespace="default",function="metered",state="idle"\} 1/.test(body) &&
          /procyon_proc_memory_bytes [1-9]/.test(body);
        return ready ? body : undefined;
      },
      { what: 'an idle proc of "metered" and its measured memory on /metrics' },
    );
    assert.match(text, /procyon_queue_depth 0/);
    assert.match(text, /procyon_proc_memory_budget_bytes [1-9]/);
  });
});

describe('scheduler: memory budget', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ memoryBudgetMb: 16 });
  });
  after(() => t.stop());

  it('evicts idle procs of other functions, least recently used first, to stay within the budget', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `f${i}`);
    for (const name of names) {
      assert.equal((await t.deploy(name, HELLO.replace('hi', name))).status, 201);
      const res = await fetch(`${t.url}/fn/default/${name}`);
      assert.equal(await res.text(), name);
    }
    const stats = t.node.driver.scheduler.stats();
    assert.ok(stats.memoryBytes <= stats.memoryBudgetBytes, `${stats.memoryBytes} within the budget`);
    assert.ok(stats.evictions.memory >= 1, 'some procs were evicted for memory');
    const warm = new Set(stats.versions.filter((v) => v.idle > 0).map((v) => v.fn));
    assert.ok(warm.has('f9'), 'the most recently used function stays warm');
    assert.ok(!warm.has('f0'), 'the least recently used function went first');
    // An evicted function still answers: it just starts cold again.
    const res = await fetch(`${t.url}/fn/default/f0`);
    assert.equal(await res.text(), 'f0');
  });
});

describe('scheduler: per-function scaling settings', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ autoscaleTickMs: 100 });
  });
  after(() => t.stop());

  it('pre-warms minInstances before the first call, so it is warm', async () => {
    const res = await t.deploy('eager', HELLO, { scaling: { minInstances: 2 } });
    assert.equal(res.status, 201);
    await waitFor(() => versionRow(t, 'eager')?.idle === 2, { what: 'two procs ready with no traffic' });
    const call = await fetch(`${t.url}/fn/default/eager`);
    await call.text();
    await t.node.recorder.flush();
    const id = call.headers.get('x-procyon-activation-id');
    const record = await t.api('GET', `/api/v1/namespaces/default/activations/${id}`);
    assert.equal(record.body.cold, false);
  });

  it('never runs more than maxInstances procs; extra calls wait their turn and succeed', async () => {
    assert.equal((await t.deploy('single', SLOW, { scaling: { maxInstances: 1 } })).status, 201);
    let peak = 0;
    const watch = setInterval(() => {
      const row = versionRow(t, 'single');
      peak = Math.max(peak, (row?.busy ?? 0) + (row?.idle ?? 0) + (row?.starting ?? 0));
    }, 10);
    const t0 = Date.now();
    const bodies = await Promise.all(
      Array.from({ length: 3 }, () => fetch(`${t.url}/fn/default/single`).then((r) => r.text())),
    );
    clearInterval(watch);
    assert.deepEqual(bodies, ['done', 'done', 'done']);
    assert.equal(peak, 1);
    assert.ok(Date.now() - t0 >= 400, 'the three 150 ms calls ran one after another');
  });
});

describe('scheduler: several calls per proc', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ isolateHosts: 2 });
  });
  after(() => t.stop());

  it("packs calls onto one proc up to the function's concurrency", async () => {
    const gate = await startGate();
    try {
      const deployed = await t.deploy('shared', gate.code, { ...gate.extra, scaling: { concurrency: 8 } });
      assert.equal(deployed.status, 201);
      const calls = Array.from({ length: 8 }, () =>
        fetch(`${t.url}/fn/default/shared`).then((r) => r.text()),
      );
      const row = await waitFor(
        () => (versionRow(t, 'shared')?.inFlight === 8 ? versionRow(t, 'shared') : undefined),
        { what: 'eight calls in flight' },
      );
      assert.equal(row.busy, 1, 'one proc holds all eight calls');
      gate.open();
      assert.deepEqual(await Promise.all(calls), Array(8).fill('done'));
    } finally {
      gate.close();
    }
  });
});

describe('CPU-heavy functions', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ isolateHosts: 2 });
  });
  after(() => t.stop());

  it('once a function is known to spin until its timeout, its calls run one at a time and others keep answering', async () => {
    const hog = `export default { fetch() { for (;;) {} } };`;
    assert.equal((await t.deploy('hog', hog, { timeout: 300 })).status, 201);
    assert.equal((await t.deploy('hello', HELLO)).status, 201);
    assert.equal((await fetch(`${t.url}/fn/default/hog`)).status, 504); // the node learns
    const t0 = Date.now();
    const hogs = Array.from({ length: 3 }, () => fetch(`${t.url}/fn/default/hog`).then((r) => r.status));
    // Its procs now live on the low-priority background host (index 2, after the two normal ones).
    const running = await waitFor(
      () => ((versionRow(t, 'hog')?.busy ?? 0) >= 1 ? versionRow(t, 'hog') : undefined),
      { what: 'a hog call running' },
    );
    assert.ok((running.perHost[2] ?? 0) >= running.busy, JSON.stringify(running));
    const hello = await fetch(`${t.url}/fn/default/hello`);
    assert.equal(await hello.text(), 'hi');
    assert.deepEqual(await Promise.all(hogs), [504, 504, 504]);
    // Half the cores' worth at once (one on this 2-core kind): three 300 ms timeouts in that many rounds.
    const rounds = Math.ceil(3 / Math.max(1, Math.floor(availableParallelism() / 2)));
    assert.ok(Date.now() - t0 >= rounds * 300 - 50, `hog calls were limited (${Date.now() - t0} ms)`);
  });
});

describe('trusted mode (isolates inside the node process)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ trusted: true });
  });
  after(() => t.stop());

  it('runs functions with no isolate host process', async () => {
    assert.deepEqual(t.node.driver.hostPids(), [process.pid]);
    assert.equal((await t.deploy('hello', HELLO)).status, 201);
    const res = await fetch(`${t.url}/fn/default/hello`);
    assert.equal(await res.text(), 'hi');
  });

  it('still enforces the timeout on a busy loop', async () => {
    const loop = `export default { fetch() { for (;;) {} } };`;
    assert.equal((await t.deploy('loop', loop, { timeout: 300 })).status, 201);
    const res = await fetch(`${t.url}/fn/default/loop`);
    assert.equal(res.status, 504);
    const ok = await fetch(`${t.url}/fn/default/hello`);
    assert.equal(await ok.text(), 'hi');
  });
});
