/**
 * Host-backed web APIs end to end through a real node (issue 3 items 1–2): timers bounded by the
 * invocation (ctx.waitUntil included), and `fetch` under the egress policy, with a function's
 * `egress.allow` from the deploy body, against a local HTTP server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type ApiBody, type TestNode } from './node.js';
import { startTargetServer, type TargetServer } from './target-server.js';

/** Fetches `?url=` with `?init=` (JSON) and answers what it got, or the error as a 502. */
const PROXY = `export default { async fetch(request) {
  const params = new URL(request.url).searchParams;
  try {
    const res = await fetch(params.get('url'), JSON.parse(params.get('init') ?? '{}'));
    return Response.json({ status: res.status, url: res.url, redirected: res.redirected,
      cookies: res.headers.getSetCookie(), body: await res.text() });
  } catch (e) {
    return Response.json({ error: e.name + ': ' + e.message }, { status: 502 });
  }
} };`;

const FETCH_TIMEOUT_MS = 500;
const MAX_RESPONSE_BYTES = 64 * 1024;

describe('web bridges end to end', () => {
  let t: TestNode;
  let target: TargetServer;
  before(async () => {
    target = await startTargetServer();
    t = await startTestNode({ fetchTimeoutMs: FETCH_TIMEOUT_MS, fetchMaxResponseBytes: MAX_RESPONSE_BYTES });
    const allow = { egress: { allow: [`127.0.0.1:${target.port}`] } };
    for (const [name, extra] of [
      ['allowed', allow],
      ['denied', {}],
    ] as const) {
      const dep = await t.deploy(name, PROXY, extra);
      assert.equal(dep.status, 201, JSON.stringify(dep.body));
    }
  });
  after(async () => {
    await t.stop();
    await target.close();
  });

  const proxy = async (
    fn: string,
    url: string,
    init?: object,
  ): Promise<{ status: number; body: ApiBody }> => {
    const query = new URLSearchParams({ url, ...(init ? { init: JSON.stringify(init) } : {}) });
    const res = await fetch(`${t.url}/fn/default/${fn}?${query.toString()}`);
    return { status: res.status, body: await json(res) };
  };

  /** Log messages of the first `count` activations of `fn`, oldest first, once they are recorded. */
  async function activationLogs(fn: string, count: number): Promise<string[][]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      await t.node.recorder.flush();
      const list = await t.api('GET', `/api/v1/namespaces/default/activations?fn=${fn}`);
      const acts = list.body.activations as { id: string }[];
      if (acts.length >= count) {
        const logs: string[][] = [];
        for (const a of acts.slice().reverse()) {
          const one = await t.api('GET', `/api/v1/namespaces/default/activations/${a.id}`);
          logs.push((one.body.logs as { msg: string }[]).map((l) => l.msg));
        }
        return logs;
      }
      if (Date.now() > deadline) assert.fail(`no ${count} activations of ${fn}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('timers run during the call and its waitUntil tail, never after the call ends', async () => {
    const code = `export default { async fetch(request, env, ctx) {
      const order = [];
      setTimeout(() => order.push('timeout'), 0);
      await Promise.resolve();
      order.push('microtask');
      await new Promise((resolve) => setTimeout(resolve, 20));
      let ticks = 0;
      const id = setInterval(() => ticks++, 5);
      await new Promise((resolve) => setTimeout(resolve, 40));
      clearInterval(id);
      if (new URL(request.url).searchParams.has('tail')) {
        ctx.waitUntil((async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          // Set after the response went out: still part of the call.
          await new Promise((resolve) => setTimeout(() => { console.log('tail timer fired'); resolve(); }, 50));
        })());
        setTimeout(() => console.log('orphan timer fired'), 400);
      }
      return Response.json({ order, ticked: ticks >= 3 });
    } };`;
    assert.equal((await t.deploy('timers', code)).status, 201);
    const first = await fetch(`${t.url}/fn/default/timers?tail`);
    assert.deepEqual(await json(first), { order: ['microtask', 'timeout'], ticked: true });
    const [tail] = await activationLogs('timers', 1);
    assert.deepEqual(tail, ['tail timer fired']);
    // The orphan timer was due 400 ms into the call, after the call ended with its tail.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = await fetch(`${t.url}/fn/default/timers`);
    assert.equal(second.status, 200);
    await second.text();
    const logs = await activationLogs('timers', 2);
    assert.deepEqual(logs[1], [], 'nothing from the first call may run later');
  });

  it('fetch to an allowed local server: GET, POST body, redirects, Set-Cookie', async () => {
    const get = await proxy('allowed', `${target.origin}/echo?q=1`);
    assert.equal(get.status, 200, JSON.stringify(get.body));
    const echo = JSON.parse(get.body.body as string) as { method: string; headers: [string, string][] };
    assert.equal(echo.method, 'GET');
    assert.deepEqual(
      echo.headers.map(([n]) => n).sort(),
      ['connection', 'host', 'user-agent'],
      'no header of the node or the gateway leaks into a sub-request',
    );
    const post = await proxy('allowed', `${target.origin}/echo`, { method: 'POST', body: '{"a":1}' });
    assert.deepEqual(JSON.parse(post.body.body as string).body, '{"a":1}');
    const redirected = await proxy('allowed', `${target.origin}/redirect?status=301&to=/echo`);
    assert.equal(redirected.body.url, `${target.origin}/echo`);
    assert.equal(redirected.body.redirected, true);
    const cookies = await proxy('allowed', `${target.origin}/cookies`);
    assert.deepEqual(cookies.body.cookies, ['a=1; Path=/', 'b=2; HttpOnly']);
  });

  it('without an allow entry the same request is denied, caught or as the uncaught 500', async () => {
    const caught = await proxy('denied', `${target.origin}/echo`);
    assert.equal(caught.status, 502);
    assert.equal(
      caught.body.error,
      `TypeError: fetch to ${target.origin}/echo denied by egress policy: loopback address`,
    );
    await t.deploy(
      'uncaught',
      `export default { fetch: () => fetch(${JSON.stringify(`${target.origin}/echo`)}) };`,
    );
    const res = await fetch(`${t.url}/fn/default/uncaught`);
    assert.equal(res.status, 500);
    assert.match(
      await res.text(),
      /TypeError: fetch to http:\/\/127\.0\.0\.1:\d+\/echo denied by egress policy: loopback address/,
    );
  });

  it('metadata, localhost by name and redirects into denied space are denied even for the allowed function', async () => {
    const metadata = await proxy('allowed', 'http://169.254.169.254/latest/meta-data/');
    assert.equal(
      metadata.body.error,
      'TypeError: fetch to http://169.254.169.254/latest/meta-data/ denied by egress policy: cloud metadata address',
    );
    const hop = await proxy(
      'allowed',
      `${target.origin}/redirect?to=${encodeURIComponent('http://169.254.169.254/')}`,
    );
    assert.equal(
      hop.body.error,
      'TypeError: fetch to http://169.254.169.254/ denied by egress policy: cloud metadata address',
    );
    const local = await proxy('denied', `http://localhost:${target.port}/echo`);
    assert.match(
      local.body.error as string,
      /^TypeError: fetch to http:\/\/localhost:\d+\/echo denied by egress policy: loopback address \(localhost resolves to/,
    );
    const nats = await proxy('allowed', 'http://127.0.0.1:4222/');
    assert.equal(
      nats.body.error,
      "TypeError: fetch to http://127.0.0.1:4222/ denied by egress policy: reserved for the node's own services (*:4222)",
    );
  });

  it('the node-level timeout and response size cap', async () => {
    const slow = await proxy('allowed', `${target.origin}/hold`);
    assert.equal(
      slow.body.error,
      `TypeError: fetch to ${target.origin}/hold timed out after ${FETCH_TIMEOUT_MS} ms`,
    );
    const fits = await proxy('allowed', `${target.origin}/bytes?n=${MAX_RESPONSE_BYTES}`);
    assert.equal((fits.body.body as string).length, MAX_RESPONSE_BYTES);
    const big = await proxy('allowed', `${target.origin}/bytes?n=${MAX_RESPONSE_BYTES + 1}`);
    assert.equal(
      big.body.error,
      `TypeError: fetch to ${target.origin}/bytes?n=${MAX_RESPONSE_BYTES + 1}: the response body is larger than ${MAX_RESPONSE_BYTES} bytes`,
    );
  });

  it('a sub-request still running when the call ends is dropped', async () => {
    const code = `export default { fetch() {
      fetch(${JSON.stringify(`${target.origin}/hold`)}).catch(() => {});
      return new Promise((resolve) => setTimeout(() => resolve(new Response('done')), 50));
    } };`;
    await t.deploy('leaver', code, { egress: { allow: [`127.0.0.1:${target.port}`] } });
    const before = target.stats.abandoned;
    assert.equal(await (await fetch(`${t.url}/fn/default/leaver`)).text(), 'done');
    const until = Date.now() + 2_000;
    while (target.stats.abandoned === before && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(target.stats.abandoned, before + 1);
  });

  it('random values at the top level of a module fail the deploy with a clear message', async () => {
    const res = await t.deploy(
      'eager',
      `const id = crypto.randomUUID(); export default { fetch: () => new Response(id) };`,
    );
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /random values can only be generated while handling a request/);
  });

  it('deploy rejects malformed egress patterns', async () => {
    for (const allow of [
      ['http://x.example/'],
      ['a b'],
      ['host:70000'],
      ['10.0.0.0/33'],
      ['ok.example', ''],
    ]) {
      const res = await t.deploy('bad-egress', PROXY, { egress: { allow } });
      assert.equal(res.status, 400, JSON.stringify(allow));
    }
  });
});
