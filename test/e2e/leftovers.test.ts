/**
 * A call's timers, pending fetches and waitUntil work end with the call, whatever its outcome
 * (issue 11 item 5; shared RELIABILITY case 24). The call before the innocent one leaves 9,990
 * timers, a fetch that answers at once, a fetch that never answers and waitUntil work behind, then
 * throws, times out or returns; the next call on the same function (one proc, one host) must
 * succeed and its activation must hold its own log line and nothing of the previous call's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type TestNode } from './node.js';
import { startTargetServer, type TargetServer } from './target-server.js';

/** Timers the bad call leaves: the per-call cap (10,000) less room for its waitUntil timer. */
const TIMERS = 9_990;

const code = (origin: string): string => `
export default { async fetch(request, env, ctx) {
  const mode = new URL(request.url).searchParams.get('mode');
  if (mode === null) {
    // More timers than the cap leaves room for if the bad call's were still counted.
    await Promise.all(Array.from({ length: 50 }, () => new Promise((resolve) => setTimeout(resolve, 5))));
    console.log('innocent call');
    return new Response('ok');
  }
  fetch(${JSON.stringify(`${origin}/hold?ms=0`)}).then(
    () => console.log('stale: fetch answered'),
    () => console.log('stale: fetch failed'),
  );
  fetch(${JSON.stringify(`${origin}/hold`)}).then(
    () => console.log('stale: held fetch answered'),
    () => console.log('stale: held fetch failed'),
  );
  ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 20)).then(() => console.log('waitUntil ran')));
  for (let i = 0; i < ${TIMERS}; i++) setTimeout(() => console.log('stale: timer ' + i), i % 20);
  // Busy while the timers fall due in the host: their answers queue up for the isolate.
  const until = Date.now() + 500;
  while (Date.now() < until);
  if (mode === 'throw') throw new Error('boom');
  if (mode === 'timeout') await new Promise(() => {});
  return new Response('left work behind');
} };`;

describe('a call leaves timers, fetches and waitUntil work behind', () => {
  let t: TestNode;
  let target: TargetServer;
  before(async () => {
    target = await startTargetServer();
    // One host: the innocent call shares it (and, unless the proc was disposed, its isolate).
    t = await startTestNode({ isolateHosts: 1 });
    const deployed = await t.deploy('leaver', code(target.origin), {
      timeout: 5_000,
      egress: { allow: [`127.0.0.1:${target.port}`] },
      scaling: { maxInstances: 1 },
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  });
  after(async () => {
    await t.stop();
    await target.close();
  });

  const call = (query = '') => fetch(`${t.url}/fn/default/leaver${query}`);
  const logsOf = async (res: Response): Promise<string[]> => {
    const id = res.headers.get('x-procyon-activation-id');
    assert.ok(id, 'the response names its activation');
    await t.node.recorder.flush();
    const a = (await t.api('GET', `/api/v1/namespaces/default/activations/${id}`)).body;
    return (a.logs as { msg: string }[]).map((l) => l.msg);
  };

  /** The next call succeeds, with its own log line and none of the bad call's. */
  async function innocentIsClean(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const res = await call();
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok');
      const logs = await logsOf(res);
      assert.ok(logs.includes('innocent call'), `its own line is there: ${logs.slice(0, 3).join(' | ')}`);
      const stale = logs.filter((m) => m.startsWith('stale') || m === 'waitUntil ran');
      assert.deepEqual(stale.slice(0, 5), [], `${stale.length} lines of the previous call`);
    }
  }

  it('after a call that throws', async () => {
    const bad = await call('?mode=throw');
    assert.equal(bad.status, 500);
    assert.equal((await json(bad)).error.code, 'PROCYON_FUNCTION_ERROR');
    await innocentIsClean();
  });

  it('after a call that times out', async () => {
    await t.deploy('leaver', code(target.origin), {
      timeout: 3_000,
      egress: { allow: [`127.0.0.1:${target.port}`] },
      scaling: { maxInstances: 1 },
    });
    const bad = await call('?mode=timeout');
    assert.equal(bad.status, 504);
    assert.equal((await json(bad)).error.code, 'PROCYON_TIMEOUT');
    await innocentIsClean();
  });

  it('after a call that succeeds and leaves work past its tail', async () => {
    const bad = await call('?mode=ok');
    assert.equal(bad.status, 200);
    assert.equal(await bad.text(), 'left work behind');
    await innocentIsClean();
  });
});
