/** The control API and the gateway over real HTTP (docs/API.md). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type TestNode } from './node.js';
import { waitFor } from '../wait.js';

const hello = `export default { async fetch(request, env) {
  const url = new URL(request.url);
  console.log('hello log', url.pathname);
  return new Response((env.GREETING ?? 'hello') + ' ' + url.pathname, { headers: { 'x-fn': 'hello' } });
} };`;

const lambda = `export const handler = async (event, context) => {
  if (event && event.requestContext) {
    return { statusCode: 201, headers: { 'content-type': 'application/json' }, cookies: ['a=1', 'b=2'],
      body: JSON.stringify({ params: event.pathParameters, q: event.queryStringParameters, body: event.body,
        b64: event.isBase64Encoded, method: event.requestContext.http.method, routeKey: event.routeKey }) };
  }
  return { got: event, fn: context.functionName, mem: context.memoryLimitInMB, left: context.getRemainingTimeInMillis() > 0 };
};`;

describe('control API and gateway', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.stop());

  it('rejects missing, bad and wrong-namespace keys', async () => {
    const none = await fetch(`${t.url}/api/v1/namespaces`);
    assert.equal(none.status, 401);
    assert.equal((await json(none)).error.code, 'PROCYON_UNAUTHORIZED');
    const bad = await fetch(`${t.url}/api/v1/namespaces`, { headers: { authorization: 'Bearer pk_wrong' } });
    assert.equal(bad.status, 401);
    const { createApiKey } = await import('../../src/auth/keys.js');
    await t.api('PUT', '/api/v1/namespaces/team-a');
    const scoped = (await createApiKey(t.node.store, 'team-a')).key;
    const other = await fetch(`${t.url}/api/v1/namespaces/default/functions`, {
      headers: { authorization: `Bearer ${scoped}` },
    });
    assert.equal(other.status, 403);
    const own = await fetch(`${t.url}/api/v1/namespaces/team-a/functions`, {
      headers: { authorization: `Bearer ${scoped}` },
    });
    assert.equal(own.status, 200);
  });

  it('deploys a Workers-style function, serves its route and /fn URL, and versions it', async () => {
    const first = await t.deploy('hello', hello, { routes: ['GET /hello', '/hello/:who'] });
    assert.equal(first.status, 201);
    assert.equal(first.body.function.style, 'fetch');
    assert.match(first.body.version.id, /^[0-9a-f]{16}$/);
    assert.ok(first.body.function.urls.includes(`${t.url}/hello`));
    const res = await fetch(`${t.url}/hello`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello /hello');
    assert.equal(res.headers.get('x-fn'), 'hello');
    assert.ok(res.headers.get('x-procyon-activation-id'));
    assert.equal(
      await (await fetch(`${t.url}/fn/default/hello/deep/path?x=1`)).text(),
      'hello /fn/default/hello/deep/path',
    );
    assert.equal((await fetch(`${t.url}/hello`, { method: 'POST' })).status, 404, 'route is GET only');

    const same = await t.deploy('hello', hello, { routes: ['GET /hello', '/hello/:who'] });
    assert.equal(same.status, 200);
    assert.equal(same.body.changed, false);
    const second = await t.deploy('hello', hello, { routes: ['GET /hello'], vars: { GREETING: 'hi' } });
    assert.equal(second.body.changed, true);
    assert.equal(await (await fetch(`${t.url}/hello`)).text(), 'hi /hello', 'new version serves at once');
    const versions = await t.api('GET', '/api/v1/namespaces/default/functions/hello/versions');
    assert.deepEqual(
      versions.body.versions.map((v: { id: string }) => v.id),
      [second.body.version.id, first.body.version.id],
    );
    const old = await t.api(
      'POST',
      `/api/v1/namespaces/default/functions/hello/invoke?version=${first.body.version.id}`,
      {},
    );
    assert.equal(old.body, 'hello /fn/default/hello');
  });

  it('refuses a route another function owns, and reserved paths', async () => {
    const clash = await t.deploy('clash', hello, { routes: ['GET /hello'] });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.error.code, 'PROCYON_CONFLICT');
    const reserved = await t.deploy('clash', hello, { routes: ['/api/v1/x'] });
    assert.equal(reserved.status, 400);
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/functions/clash')).status, 404);
  });

  it('runs Lambda-style handlers for invoke and for HTTP (API Gateway v2 events)', async () => {
    const dep = await t.deploy('lam', lambda, { routes: ['/lam/:id'], memory: 64 });
    assert.equal(dep.body.function.style, 'handler');
    const inv = await t.api('POST', '/api/v1/namespaces/default/functions/lam/invoke', { x: 1 });
    assert.equal(inv.status, 200);
    assert.deepEqual(inv.body, { got: { x: 1 }, fn: 'lam', mem: '64', left: true });
    const res = await fetch(`${t.url}/lam/42?a=1&a=2`, {
      method: 'POST',
      body: 'plain',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await json(res), {
      params: { id: '42' },
      q: { a: '1,2' },
      body: 'plain',
      b64: false,
      method: 'POST',
      routeKey: 'ANY /lam/{id}',
    });
    const bin = await fetch(`${t.url}/lam/1`, {
      method: 'PUT',
      body: new Uint8Array([0, 255]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    const binBody = await json(bin);
    assert.equal(binBody.b64, true);
    assert.equal(binBody.body, Buffer.from([0, 255]).toString('base64'));
  });

  it('records activations with billing fields, filters them, and keeps logs', async () => {
    await t.deploy('acts', hello);
    const r1 = await fetch(`${t.url}/fn/default/acts`);
    await r1.text();
    const r2 = await fetch(`${t.url}/fn/default/acts`);
    await r2.text();
    await t.node.recorder.flush();
    const list = await t.api('GET', '/api/v1/namespaces/default/activations?fn=acts');
    assert.equal(list.body.activations.length, 2);
    const [newest, oldest] = list.body.activations;
    assert.equal(oldest.cold, true);
    assert.equal(newest.cold, false);
    for (const a of list.body.activations) {
      assert.equal(a.function, 'acts');
      assert.equal(a.status, 'success');
      assert.ok(a.billedMs >= 1 && a.billedMs >= a.durationMs);
      assert.equal(a.gbSeconds, (a.memoryMb / 1024) * (a.billedMs / 1000));
      assert.equal(a.trigger, 'http');
    }
    const one = await t.api('GET', `/api/v1/namespaces/default/activations/${newest.id}`);
    assert.equal(one.body.logs[0].msg, 'hello log /fn/default/acts');
    const errors = await t.api('GET', '/api/v1/namespaces/default/activations?fn=acts&status=error');
    assert.equal(errors.body.activations.length, 0);
    const future = await t.api(
      'GET',
      `/api/v1/namespaces/default/activations?fn=acts&since=${Date.now() + 60_000}`,
    );
    assert.equal(future.body.activations.length, 0);
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/activations/nope')).status, 404);
  });

  it('stores, returns and versions the scaling settings given, and nothing else', async () => {
    const path = '/api/v1/namespaces/default/functions/scaled';
    const scaling = { concurrency: 4, minInstances: 1, maxInstances: 3, keepAliveMs: 30_000 };
    const first = await t.deploy('scaled', hello, { scaling });
    assert.equal(first.status, 201);
    assert.deepEqual(first.body.function.scaling, scaling);
    assert.deepEqual(first.body.version.scaling, scaling);
    assert.deepEqual((await t.api('GET', path)).body.scaling, scaling);
    assert.equal(await (await fetch(`${t.url}/fn/default/scaled`)).text(), 'hello /fn/default/scaled');

    // The same policy in another key order is the same version; another policy is a new one.
    const reordered = { keepAliveMs: 30_000, maxInstances: 3, minInstances: 1, concurrency: 4 };
    const same = await t.deploy('scaled', hello, { scaling: reordered });
    assert.equal(same.body.changed, false);
    assert.equal(same.body.version.id, first.body.version.id);
    const changed = await t.deploy('scaled', hello, { scaling: { ...scaling, concurrency: 8 } });
    assert.equal(changed.body.changed, true);
    assert.notEqual(changed.body.version.id, first.body.version.id);

    // Only what was given is stored: no node defaults filled in.
    const partial = await t.deploy('scaled', hello, { scaling: { maxInstances: 2 } });
    assert.deepEqual(partial.body.function.scaling, { maxInstances: 2 });
    const none = await t.deploy('scaled', hello);
    assert.deepEqual((await t.api('GET', path)).body.scaling, {});
    assert.equal(none.body.version.id, (await t.deploy('scaled', hello, { scaling: {} })).body.version.id);
    const versions = (await t.api('GET', `${path}/versions`)).body.versions;
    assert.deepEqual(
      versions.map((v: { scaling: unknown }) => v.scaling),
      [{}, { maxInstances: 2 }, { ...scaling, concurrency: 8 }, scaling],
    );
  });

  it('rejects each invalid scaling setting with 400 and one line, storing nothing', async () => {
    const path = '/api/v1/namespaces/default/functions/scaled-bad';
    const good = await t.deploy('scaled-bad', hello, { scaling: { concurrency: 2 } });
    assert.equal(good.status, 201);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ concurrency: 0 }, /^scaling\.concurrency must be an integer from 1 to 1000, got 0$/],
      [{ concurrency: 1001 }, /scaling\.concurrency .* got 1001/],
      [{ concurrency: 1.5 }, /concurrency must be integer/],
      [{ concurrency: 'many' }, /concurrency must be integer/],
      [{ minInstances: -1 }, /scaling\.minInstances must be an integer from 0 to 100/],
      [{ minInstances: 101, maxInstances: 200 }, /scaling\.minInstances must be an integer from 0 to 100/],
      [{ maxInstances: 0 }, /scaling\.maxInstances must be an integer from 1 to 1000/],
      [{ maxInstances: 1001 }, /scaling\.maxInstances/],
      [{ keepAliveMs: 0 }, /scaling\.keepAliveMs must be an integer from 1000 to 86400000, got 0/],
      [{ keepAliveMs: 86_400_001 }, /scaling\.keepAliveMs/],
      [
        { minInstances: 3, maxInstances: 2 },
        /minInstances \(3\) must not be more than scaling\.maxInstances \(2\)/,
      ],
      [
        { minInstances: 9 },
        /minInstances \(9\) is more than this node allows per version \(8, PROCYON_MAX_PROCS_PER_VERSION\)/,
      ],
      [{ keepAlive: 5000 }, /must NOT have additional properties/],
    ];
    for (const [scaling, message] of cases) {
      const what = JSON.stringify(scaling);
      const res = await t.deploy('scaled-bad', hello, { scaling });
      assert.equal(res.status, 400, what);
      assert.equal(res.body.error.code, 'PROCYON_VALIDATION', what);
      assert.match(res.body.error.message, message, what);
      assert.doesNotMatch(res.body.error.message, /\n/, what);
      const fresh = await t.deploy('scaled-new', hello, { scaling });
      assert.equal(fresh.status, 400, what);
    }
    assert.equal((await t.api('GET', `${path}/versions`)).body.versions.length, 1, 'no version stored');
    assert.deepEqual((await t.api('GET', path)).body.scaling, { concurrency: 2 });
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/functions/scaled-new')).status, 404);
  });

  it('validates bodies: malformed JSON, bad names, wrong types, __proto__, unknown fields', async () => {
    const raw = await fetch(`${t.url}/api/v1/namespaces/default/functions/x`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: '{"code": ',
    });
    assert.equal(raw.status, 400);
    assert.equal((await json(raw)).error.code, 'PROCYON_BAD_REQUEST');
    const proto = await fetch(`${t.url}/api/v1/namespaces/default/functions/x/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: '{"__proto__": {"polluted": true}}',
    });
    assert.equal(proto.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(
      (await t.api('PUT', '/api/v1/namespaces/default/functions/Bad Name!', { code: 'x' })).status,
      400,
    );
    const badMem = await t.deploy('x', hello, { memory: 1_000_000 });
    assert.equal(badMem.status, 400);
    assert.equal(badMem.body.error.code, 'PROCYON_VALIDATION');
    assert.equal((await t.deploy('x', hello, { surprise: 1 })).status, 400);
    const text = await fetch(`${t.url}/api/v1/namespaces/default/functions/x/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(text.status, 415);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const nested = await fetch(`${t.url}/api/v1/namespaces/default/functions/x/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: deep,
    });
    assert.equal(nested.status, 400, 'refused at parse time, whether or not the function exists');
    assert.equal((await json(nested)).error.code, 'PROCYON_BAD_REQUEST');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'node still up');
  });

  it('delete waits for in-flight calls, then the function is gone', async () => {
    await t.deploy(
      'slowpoke',
      `export default { async fetch() { const end = Date.now() + 400; while (Date.now() < end) {} return new Response('done'); } };`,
    );
    const inflight = fetch(`${t.url}/fn/default/slowpoke`);
    await waitFor(
      () => t.node.driver.scheduler.stats().versions.find((v) => v.fn === 'slowpoke')?.busy === 1,
      { what: 'the call in flight' },
    );
    const del = await t.api('DELETE', '/api/v1/namespaces/default/functions/slowpoke');
    assert.equal(del.status, 200);
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'done');
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/functions/slowpoke')).status, 404);
    assert.equal((await fetch(`${t.url}/fn/default/slowpoke`)).status, 404);
  });

  it('GET /metrics counts invocations, errors by code and cold starts, in Prometheus format', async () => {
    await t.deploy(
      'metered',
      `export default { fetch(r) { if (new URL(r.url).searchParams.has('fail')) throw new Error('x'); return new Response('ok'); } };`,
    );
    for (const q of ['', '', '?fail=1']) await (await fetch(`${t.url}/fn/default/metered${q}`)).text();
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const value = (line: string): number =>
      Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(
      value(
        'procyon_invocations_total{namespace="default",function="metered",trigger="http",status="success"}',
      ),
      2,
    );
    assert.equal(
      value(
        'procyon_invocations_total{namespace="default",function="metered",trigger="http",status="error"}',
      ),
      1,
    );
    assert.equal(
      value(
        'procyon_invocation_errors_total{namespace="default",function="metered",code="PROCYON_FUNCTION_ERROR"}',
      ),
      1,
    );
    assert.equal(value('procyon_cold_starts_total{namespace="default",function="metered"}'), 1);
    assert.equal(
      value('procyon_invocation_duration_seconds_count{namespace="default",function="metered"}'),
      3,
    );
    assert.equal(value('procyon_isolate_hosts'), 3, 'two hosts and the background host');
    assert.match(text, /^procyon_node_process_cpu_seconds_total /m);
  });
});
