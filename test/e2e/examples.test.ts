/** The bundled examples, deployed as `npm start` deploys them and exercised over HTTP (issue 3 item 7). */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { deployExamples } from '../../src/node/examples.js';
import { json, startTestNode, type TestNode } from './node.js';
import { waitFor } from '../wait.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

describe('examples', () => {
  let t: TestNode;
  /** Whether the native-driver examples were deployed (bubblewrap and socat are here). */
  let programs = false;
  before(async () => {
    t = await startTestNode();
    const { skipped } = await deployExamples(
      EXAMPLES,
      'default',
      t.node.functions,
      t.node.nativeDriver.available,
    );
    programs = skipped.length === 0;
  });
  after(async () => t.stop());
  const get = (path: string, init?: RequestInit) => fetch(`${t.url}${path}`, init);

  it('hello, greet (Lambda style) and echo answer', async () => {
    assert.equal(await (await get('/hello?name=ex')).text(), 'Hello, ex!\n');
    assert.equal((await json(await get('/greet/bo'))).message, 'Hi bo');
    const echo = await json(
      await get('/echo', { method: 'POST', body: 'héllo', headers: { 'content-type': 'text/plain' } }),
    );
    assert.deepEqual([echo.body, echo.bytes, echo.method], ['héllo', 6, 'POST']);
  });

  it('Hono: routes, params, middleware, JSON bodies, bearer auth and 404s', async () => {
    const root = await get('/hono');
    assert.equal(await root.text(), 'Hono on Procyon');
    assert.match(root.headers.get('x-response-time') ?? '', /^\d+ms$/);
    assert.deepEqual(await json(await get('/hono/api/users/7?q=x')), { id: '7', q: 'x' });
    const cors = await get('/hono/api/users/7', { headers: { origin: 'https://a.example' } });
    assert.equal(cors.headers.get('access-control-allow-origin'), '*');
    const posted = await get('/hono/api/echo', {
      method: 'POST',
      body: JSON.stringify({ a: [1, 2] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(posted.status, 201);
    assert.deepEqual(await json(posted), { received: { a: [1, 2] } });
    assert.equal((await get('/hono/admin/stats')).status, 401);
    const admin = await get('/hono/admin/stats', { headers: { authorization: 'Bearer demo-token' } });
    assert.deepEqual(await json(admin), { ok: true });
    const missing = await get('/hono/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(await json(missing), { error: 'not found', path: '/hono/nope' });
  });

  it('KV counter counts per name and resets', async () => {
    assert.equal((await json(await get('/counter/a'))).count, 1);
    assert.equal((await json(await get('/counter/a'))).count, 2);
    assert.equal((await json(await get('/counter/b'))).count, 1);
    assert.equal((await get('/counter/a', { method: 'DELETE' })).status, 204);
    assert.equal((await json(await get('/counter/a'))).count, 1);
  });

  it('profile calls auth through a service binding', async () => {
    assert.equal((await get('/profile')).status, 401);
    const ok = await get('/profile', { headers: { authorization: 'Bearer let-me-in' } });
    assert.deepEqual(await json(ok), { user: 'demo', plan: 'free' });
  });

  it('stream sends its lines as a chunked body', async () => {
    const res = await get('/stream?lines=20');
    assert.equal(res.headers.get('content-length'), null, 'streamed, not buffered');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const text = await res.text();
    assert.equal(text.split('\n').filter(Boolean).length, 20);
    assert.match(text, /^line 1 of 20\nline 2 of 20\n/);
  });

  it('todos: a Lambda-style JSON API on KV', async () => {
    const bad = await get('/todos', {
      method: 'POST',
      body: '{"nope":1}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    const created = await get('/todos', {
      method: 'POST',
      body: JSON.stringify({ title: 'write tests' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(created.status, 201);
    const todo = await json(created);
    assert.deepEqual(await json(await get(`/todos/${todo.id}`)), todo);
    assert.deepEqual(await json(await get('/todos')), [todo]);
    assert.equal((await get(`/todos/${todo.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await get(`/todos/${todo.id}`)).status, 404);
  });

  it('Counter process: counts per name in its storage, survives a swap-out, resets', async () => {
    const post = () => get('/p/default/Counter/ann', { method: 'POST' });
    assert.equal((await json(await post())).count, 1);
    assert.equal((await json(await post())).count, 2);
    assert.equal((await json(await get('/p/default/Counter/bob', { method: 'POST' }))).count, 1);
    const evicted = await t.api('POST', '/api/v1/namespaces/default/procs/Counter/ann/evict');
    assert.deepEqual([evicted.status, evicted.body.evicted], [200, true]);
    assert.deepEqual(await json(await get('/p/default/Counter/ann')), { name: 'ann', count: 2 });
    assert.equal((await get('/p/default/Counter/ann', { method: 'DELETE' })).status, 204);
    assert.equal((await json(await get('/p/default/Counter/ann'))).count, 0);
    assert.equal((await get('/p/default/Counter/ann', { method: 'POST', body: '' })).status, 200);
    assert.equal((await get('/p/default/Counter/ann?by=x', { method: 'POST' })).status, 400);
  });

  it('ChatRoom process: many clients, one room, every message numbered once and in order', async () => {
    const clients = 12;
    const each = 5;
    const post = (user: string, text: string, room = 'lobby') =>
      get(`/p/default/ChatRoom/${room}/messages`, {
        method: 'POST',
        body: JSON.stringify({ user, text }),
        headers: { 'content-type': 'application/json' },
      });
    const seqs = (
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          const mine: number[] = [];
          for (let i = 0; i < each; i++) mine.push((await json(await post(`user${c}`, `hi ${i}`))).seq);
          return mine;
        }),
      )
    ).flat();
    assert.deepEqual(
      seqs.sort((a, b) => a - b),
      Array.from({ length: clients * each }, (_, i) => i + 1),
    );
    const { messages } = await json(await get('/p/default/ChatRoom/lobby/messages?since=0'));
    assert.deepEqual(
      messages.map((m: { seq: number }) => m.seq),
      Array.from({ length: clients * each }, (_, i) => i + 1),
    );
    const later = await json(await get(`/p/default/ChatRoom/lobby/messages?since=${clients * each - 2}`));
    assert.equal(later.messages.length, 2);
    assert.equal((await json(await get('/p/default/ChatRoom/lobby/members'))).members.length, clients);
    assert.equal((await json(await post('zed', 'other room', 'den'))).seq, 1);
    assert.equal((await post('', 'no user')).status, 400);
    assert.equal((await get('/p/default/ChatRoom/lobby/messages?since=-1')).status, 400);
  });

  it('Ping and Pong: request/response calls and a one-way rally between two processes', async () => {
    const calls = await json(await get('/p/default/Ping/t1/call?rounds=50'));
    assert.equal(calls.rounds, 50);
    assert.ok(calls.meanMs >= 0 && calls.meanMs < 100, `mean round trip ${calls.meanMs} ms`);
    assert.equal((await get('/p/default/Ping/t1/rally?n=30')).status, 202);
    const score = await waitFor(
      async () => {
        const now = (await json(await get('/p/default/Ping/t1/score'))) as { reached: number };
        return now.reached >= 30 ? now : undefined;
      },
      { what: 'the rally to reach 30' },
    );
    assert.deepEqual(score, { target: 30, reached: 30 });
    assert.equal((await get('/p/default/Ping/t1/call?rounds=0')).status, 400);
  });

  it('native driver: the Python word count and the sh custom runtime answer over HTTP', async (ctx) => {
    if (!programs) return ctx.skip('the native driver is not available here (needs bubblewrap and socat)');
    const counted = await json(await get('/wordcount', { method: 'POST', body: 'to be or not to be' }));
    assert.deepEqual(counted, {
      words: 6,
      top: [
        ['to', 2],
        ['be', 2],
        ['or', 1],
      ],
    });
    const sh = await get('/sh');
    assert.equal(sh.status, 200);
    assert.match(await sh.text(), /^hello from sh at \d\d:\d\d:\d\d; your request: /);
  });
});
