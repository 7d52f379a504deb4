/** The bundled examples, deployed as `npm start` deploys them and exercised over HTTP (issue 3 item 7). */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { deployExamples } from '../../src/node/examples.js';
import { json, startTestNode, type TestNode } from './node.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

describe('examples', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await deployExamples(EXAMPLES, 'default', t.node.functions);
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
});
