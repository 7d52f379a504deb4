/**
 * Runaway functions (RELIABILITY cases 1 and 2): `while (true) {}` and `for (;;) await null` are
 * killed at their timeout with PROCYON_TIMEOUT while other functions keep answering, heap bombs of
 * arrays, strings and JSON fail with PROCYON_MEMORY_LIMIT, and in every case the next call on the
 * same function succeeds and no isolate host was restarted (the host stayed healthy).
 * Not starved is shown by order, not by a wall-clock bound: a call to another function, made
 * while the runaway spins, is answered before the runaway's own timeout answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type TestNode } from './node.js';

/** A function that misbehaves as `?run=` says, and answers 'fine' otherwise. */
const code = `
export default { async fetch(request) {
  switch (new URL(request.url).searchParams.get('run')) {
    case 'spin': while (true) {}
    case 'microtasks': for (;;) await null;
    case 'arrays': { const a = []; for (;;) a.push(new Array(100_000).fill(a.length)); }
    case 'strings': { const a = []; for (;;) a.push('x'.repeat(100_000) + a.length); }
    case 'json': { const a = []; const s = JSON.stringify(new Array(10_000).fill('y'.repeat(100))); for (;;) a.push(JSON.parse(s)); }
    // Ever longer flat strings: V8 fails a large-object allocation in a last-resort GC, which it
    // treats as fatal for the whole process (isolated-vm's "catastrophic" error).
    case 'flat-strings': { const a = []; let s = 'x'; for (;;) { s = s + s.slice(0, 1_000_000) + a.length; a.push(s); } }
  }
  return new Response('fine');
} };`;

describe('runaway functions', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    assert.equal((await t.deploy('runaway', code, { timeout: 1_000, memory: 32 })).status, 201);
    assert.equal((await t.deploy('bomb', code, { timeout: 10_000, memory: 32 })).status, 201);
    assert.equal((await t.deploy('bystander', code)).status, 201);
  });
  after(async () => t.stop());

  const call = (name: string, run = '') => fetch(`${t.url}/fn/default/${name}?run=${run}`);
  const restarts = () => t.node.driver.stats().hostRestarts;

  for (const run of ['spin', 'microtasks']) {
    it(`${run}: killed at the timeout with PROCYON_TIMEOUT; others answered meanwhile; the next call works`, async () => {
      const before = restarts();
      const order: string[] = [];
      const runaway = call('runaway', run).then(async (res) => {
        order.push('runaway');
        return res;
      });
      const bystander = await call('bystander');
      order.push('bystander');
      assert.equal(await bystander.text(), 'fine');
      const res = await runaway;
      assert.equal(res.status, 504);
      assert.equal((await json(res)).error.code, 'PROCYON_TIMEOUT');
      assert.deepEqual(order, ['bystander', 'runaway'], 'the other function was not starved');
      const next = await call('runaway');
      assert.equal(next.status, 200);
      assert.equal(await next.text(), 'fine');
      assert.equal(restarts(), before, 'no isolate host was restarted');
    });
  }

  for (const run of ['arrays', 'strings', 'json']) {
    it(`heap bomb of ${run}: PROCYON_MEMORY_LIMIT; the next call works`, async () => {
      const before = restarts();
      const res = await call('bomb', run);
      assert.equal(res.status, 500);
      assert.equal((await json(res)).error.code, 'PROCYON_MEMORY_LIMIT');
      const next = await call('bomb');
      assert.equal(next.status, 200);
      assert.equal(await next.text(), 'fine');
      assert.equal(restarts(), before, 'no isolate host was restarted');
    });
  }

  it('flat strings, which V8 may find fatal to the process: the host survives or is replaced; the next call works', async () => {
    const before = restarts();
    const res = await call('bomb', 'flat-strings');
    const { code } = (await json(res)).error as { code: string };
    // Either isolated-vm stops the isolate (the limit), or V8 gives up on the whole host process
    // ("catastrophic" out-of-memory) and the node replaces it: the call fails cleanly either way.
    if (code === 'PROCYON_HOST_CRASHED') {
      assert.equal(res.status, 502);
      assert.equal(restarts(), before + 1, 'the host was replaced');
    } else {
      assert.deepEqual([res.status, code], [500, 'PROCYON_MEMORY_LIMIT']);
      assert.equal(restarts(), before, 'no isolate host was restarted');
    }
    const next = await call('bomb');
    assert.equal(next.status, 200);
    assert.equal(await next.text(), 'fine');
  });
});
