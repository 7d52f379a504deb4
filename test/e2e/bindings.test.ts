/** env bindings end to end: KV namespaces, secrets, service bindings (issue 3 item 5). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type TestNode } from './node.js';

describe('bindings', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.stop());
  const call = (name: string, path = '', init?: RequestInit) =>
    fetch(`${t.url}/fn/default/${name}${path}`, init);

  it('KV: a counter survives calls; metadata, TTL, types and list with a cursor work', async () => {
    const code = `export default { async fetch(request, env) {
      const url = new URL(request.url);
      const op = url.searchParams.get('op');
      if (op === 'count') {
        const n = Number((await env.STORE.get('count')) ?? 0) + 1;
        await env.STORE.put('count', String(n));
        return new Response(String(n));
      }
      if (op === 'meta') {
        await env.STORE.put('doc', JSON.stringify({ a: 1 }), { metadata: { owner: 'ada' }, expirationTtl: 3600 });
        const { value, metadata } = await env.STORE.getWithMetadata('doc', 'json');
        const buf = await env.STORE.get('doc', { type: 'arrayBuffer' });
        return Response.json({ value, metadata, bytes: buf.byteLength, missing: await env.STORE.get('nope') });
      }
      if (op === 'list') {
        for (const k of ['p:1', 'p:2', 'p:3', 'q:1']) await env.STORE.put(k, k);
        const first = await env.STORE.list({ prefix: 'p:', limit: 2 });
        const rest = await env.STORE.list({ prefix: 'p:', cursor: first.cursor });
        await env.STORE.delete('p:1');
        const after = await env.STORE.list({ prefix: 'p:' });
        return Response.json({ first: first.keys.map((k) => k.name), complete: first.list_complete,
          rest: rest.keys.map((k) => k.name), after: after.keys.map((k) => k.name) });
      }
      if (op === 'badttl') {
        try { await env.STORE.put('x', 'y', { expirationTtl: 1 }); return new Response('accepted'); }
        catch (e) { return new Response(e.name + ': ' + e.message, { status: 400 }); }
      }
      return new Response('?', { status: 404 });
    } };`;
    const dep = await t.deploy('counter', code, { kv: { STORE: 'counts' } });
    assert.equal(dep.status, 201, JSON.stringify(dep.body));
    assert.deepEqual(dep.body.function.kv, { STORE: 'counts' });
    for (const expected of ['1', '2', '3'])
      assert.equal(await (await call('counter', '?op=count')).text(), expected);
    assert.deepEqual(await json(await call('counter', '?op=meta')), {
      value: { a: 1 },
      metadata: { owner: 'ada' },
      bytes: 7,
      missing: null,
    });
    assert.deepEqual(await json(await call('counter', '?op=list')), {
      first: ['p:1', 'p:2'],
      complete: false,
      rest: ['p:3'],
      after: ['p:2', 'p:3'],
    });
    const bad = await call('counter', '?op=badttl');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /TypeError: expirationTtl must be at least 60/);
    // Another function binding the same KV namespace sees the same data.
    await t.deploy(
      'reader',
      `export default { async fetch(r, env) { return new Response(await env.DATA.get('count')); } };`,
      {
        kv: { DATA: 'counts' },
      },
    );
    assert.equal(await (await call('reader')).text(), '3');
  });

  it('service bindings: in-node calls recorded as child activations; names checked; recursion bounded', async () => {
    await t.deploy(
      'auth',
      `export default { async fetch(request) {
      const ok = request.headers.get('authorization') === 'Bearer good';
      return new Response(ok ? 'yes' : 'no', { status: ok ? 200 : 401, headers: { 'x-auth': 'checked' } });
    } };`,
    );
    const front = await t.deploy(
      'front',
      `export default { async fetch(request, env) {
      const r = await env.AUTH.fetch('http://auth/check', { headers: { authorization: request.headers.get('authorization') ?? '' } });
      return Response.json({ status: r.status, body: await r.text(), header: r.headers.get('x-auth') });
    } };`,
      { services: { AUTH: 'auth' } },
    );
    assert.equal(front.status, 201, JSON.stringify(front.body));
    const res = await call('front', '', { headers: { authorization: 'Bearer good' } });
    assert.deepEqual(await json(res), { status: 200, body: 'yes', header: 'checked' });
    assert.deepEqual(await json(await call('front')), { status: 401, body: 'no', header: 'checked' });
    await t.node.recorder.flush();
    const parent = res.headers.get('x-procyon-activation-id');
    const children = await t.api('GET', '/api/v1/namespaces/default/activations?fn=auth');
    const child = children.body.activations.find((a: { parentId: string | null }) => a.parentId === parent);
    assert.ok(child, 'the callee has an activation pointing at its caller');
    assert.equal(child.trigger, 'service');

    const loop = await t.deploy(
      'loop',
      `export default { async fetch(request, env) {
      const r = await env.SELF.fetch(request.url);
      return new Response('depth ' + r.status, { status: r.status });
    } };`,
      { services: { SELF: 'loop' } },
    );
    assert.equal(loop.status, 201);
    const deep = await call('loop');
    assert.equal(deep.status, 500, 'the innermost call fails, and each caller passes the failure on');

    const clash = await t.deploy('clash', 'export default { fetch() { return new Response(""); } };', {
      vars: { AUTH: 'x' },
      services: { AUTH: 'auth' },
    });
    assert.equal(clash.status, 400);
    assert.match(clash.body.error.message, /"AUTH" is both a var and a service binding/);
  });

  it('secrets: set by API, on env, never returned, redacted from logs and errors, encrypted at rest', async () => {
    const code = `export default { async fetch(request, env) {
      console.log('token is', env.API_TOKEN);
      if (new URL(request.url).searchParams.has('throw')) throw new Error('bad token ' + env.API_TOKEN);
      return new Response(String(env.API_TOKEN.length));
    } };`;
    assert.equal((await t.deploy('secretive', code)).status, 201);
    const put = await t.api('PUT', '/api/v1/namespaces/default/functions/secretive/secrets/API_TOKEN', {
      value: 'tok-1234567890',
    });
    assert.equal(put.status, 200);
    assert.equal(JSON.stringify(put.body).includes('tok-123'), false);
    const res = await call('secretive');
    assert.equal(await res.text(), '14');
    await t.node.recorder.flush();
    const a = await t.api(
      'GET',
      `/api/v1/namespaces/default/activations/${res.headers.get('x-procyon-activation-id')}`,
    );
    assert.equal(a.body.logs[0].msg, 'token is [REDACTED]');
    const thrown = await call('secretive', '?throw=1');
    const err = await json(thrown);
    assert.doesNotMatch(err.error.message, /tok-123/);
    const info = await t.api('GET', '/api/v1/namespaces/default/functions/secretive');
    assert.deepEqual(info.body.secrets, ['API_TOKEN']);
    assert.equal(JSON.stringify(info.body).includes('tok-123'), false);
    const list = await t.api('GET', '/api/v1/namespaces/default/functions/secretive/secrets');
    assert.deepEqual(
      list.body.secrets.map((s: { name: string }) => s.name),
      ['API_TOKEN'],
    );
    // Recent rows may still be in the write-ahead log: read both files.
    const db = ['procyon.db', 'procyon.db-wal']
      .map((f) => {
        try {
          return readFileSync(join(t.node.config.dataDir, f));
        } catch {
          return Buffer.alloc(0);
        }
      })
      .reduce((acc, b) => Buffer.concat([acc, b]));
    assert.equal(db.includes(Buffer.from('tok-1234567890')), false, 'no plain secret on disk');
  });
});
