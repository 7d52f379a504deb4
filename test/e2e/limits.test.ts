/**
 * Limits and bad input (issue: foundation §7): each case must fail if its handling is removed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, startTestNode, type TestNode } from './node.js';
import { waitFor } from '../wait.js';

const fetchFn = (body: string): string => `export default { async fetch(request, env, ctx) { ${body} } };`;

describe('limits and faults', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ logLimitBytes: 4096, maxPayloadBytes: 64 * 1024 });
  });
  after(async () => t.stop());

  const get = (name: string, init?: RequestInit) => fetch(`${t.url}/fn/default/${name}`, init);
  const activation = async (id: string | null) => {
    assert.ok(id, 'response names its activation');
    await t.node.recorder.flush();
    return (await t.api('GET', `/api/v1/namespaces/default/activations/${id}`)).body;
  };

  it('memory limit: a heap bomb fails with PROCYON_MEMORY_LIMIT and the next call works', async () => {
    const code = fetchFn(`
      if (new URL(request.url).searchParams.has('bomb')) { const a = []; for (;;) a.push(new Array(100000).fill('x' + a.length)); }
      return new Response('alive');`);
    assert.equal((await t.deploy('membomb', code, { memory: 32 })).status, 201);
    const bomb = await get('membomb?bomb=1');
    assert.equal(bomb.status, 500);
    assert.equal((await json(bomb)).error.code, 'PROCYON_MEMORY_LIMIT');
    const next = await get('membomb');
    assert.equal(next.status, 200);
    assert.equal(await next.text(), 'alive');
  });

  it('timeout: while(true) gets 504 PROCYON_TIMEOUT and does not stall other functions', async () => {
    await t.deploy('spin', fetchFn(`while (true) {}`), { timeout: 300 });
    await t.deploy('quick', fetchFn(`return new Response('quick');`));
    const spinning = get('spin');
    const t0 = performance.now();
    const quick = await get('quick');
    assert.equal(await quick.text(), 'quick');
    // The spin holds its host for at least its 300 ms timeout plus recovery; a stalled node would
    // answer after that, an unstalled one at once. 1 s leaves room for a busy machine.
    const took = performance.now() - t0;
    assert.ok(took < 1_000, `another function answered while one spun (${Math.round(took)} ms)`);
    const res = await spinning;
    assert.equal(res.status, 504);
    assert.equal((await json(res)).error.code, 'PROCYON_TIMEOUT');
  });

  it('timeout: an endless microtask loop and a never-settling promise both time out', async () => {
    await t.deploy('micro', fetchFn(`for (;;) await null;`), { timeout: 300 });
    await t.deploy('hang', fetchFn(`await new Promise(() => {});`), { timeout: 300 });
    for (const name of ['micro', 'hang']) {
      const res = await get(name);
      assert.equal(res.status, 504, name);
      assert.equal((await json(res)).error.code, 'PROCYON_TIMEOUT');
    }
  });

  it('payload: a request body over the limit is 413, exactly at the limit succeeds', async () => {
    await t.deploy('size', fetchFn(`return new Response(String((await request.arrayBuffer()).byteLength));`));
    const limit = 64 * 1024;
    const over = await get('size', { method: 'POST', body: new Uint8Array(limit + 1) });
    assert.equal(over.status, 413);
    assert.equal((await json(over)).error.code, 'PROCYON_PAYLOAD_TOO_LARGE');
    const at = await get('size', { method: 'POST', body: new Uint8Array(limit) });
    assert.equal(at.status, 200);
    assert.equal(await at.text(), String(limit));
  });

  it('payload: a response over the limit is 413 PROCYON_RESPONSE_TOO_LARGE', async () => {
    await t.deploy('big', fetchFn(`return new Response('x'.repeat(64 * 1024 + 1));`));
    const res = await get('big');
    assert.equal(res.status, 413);
    assert.equal((await json(res)).error.code, 'PROCYON_RESPONSE_TOO_LARGE');
  });

  it('logs are capped per activation with a marker', async () => {
    await t.deploy(
      'chatty',
      fetchFn(
        `for (let i = 0; i < 10000; i++) console.log('line', i, 'x'.repeat(50)); return new Response('ok');`,
      ),
    );
    const res = await get('chatty');
    assert.equal(res.status, 200);
    const a = await activation(res.headers.get('x-procyon-activation-id'));
    assert.equal(a.logsTruncated, true);
    const bytes = a.logs.reduce((n: number, l: { msg: string }) => n + l.msg.length, 0);
    assert.ok(bytes <= 4096 + 200, `kept ${bytes} bytes of logs`);
    assert.match(a.logs.at(-1).msg, /log limit/);
  });

  it('a handler that throws: 500 PROCYON_FUNCTION_ERROR with the stack in the logs', async () => {
    await t.deploy('thrower', fetchFn(`throw new TypeError('kaboom');`));
    const res = await get('thrower');
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.equal(body.error.code, 'PROCYON_FUNCTION_ERROR');
    assert.match(body.error.message, /TypeError: kaboom/);
    const a = await activation(res.headers.get('x-procyon-activation-id'));
    assert.equal(a.status, 'error');
    assert.equal(a.errorCode, 'PROCYON_FUNCTION_ERROR');
    assert.ok(
      a.logs.some((l: { msg: string }) => /kaboom[\s\S]*at /.test(l.msg)),
      'stack trace logged',
    );
  });

  it('deploy: a syntax error is 400 with file and line, and nothing is stored', async () => {
    const res = await t.deploy('broken', 'export default {\n  fetch() { return new Response("x" }\n};');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'PROCYON_BUILD_FAILED');
    assert.match(res.body.error.message, /broken\.js:2:\d+/);
    assert.equal(res.body.error.details.line, 2);
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/functions/broken')).status, 404);
  });

  it('deploy: a module that throws while loading, or exports no handler, is 400', async () => {
    const typeErr = await t.deploy(
      'loadfail',
      'const x = undefined; x.boom();\nexport default { fetch() {} };',
    );
    assert.equal(typeErr.status, 400);
    assert.equal(typeErr.body.error.code, 'PROCYON_BUILD_FAILED');
    assert.match(typeErr.body.error.message, /TypeError/);
    const noHandler = await t.deploy('nohandler', 'export const x = 1;');
    assert.equal(noHandler.status, 400);
    assert.match(noHandler.body.error.message, /fetch|handler/);
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/functions/loadfail')).status, 404);
  });

  it('an isolate host killed mid-call: 502 PROCYON_HOST_CRASHED, restarted, later calls succeed', async () => {
    await t.deploy('slow', fetchFn(`await new Promise(() => {}); return new Response('never');`), {
      timeout: 20_000,
    });
    await t.deploy('fine', fetchFn(`return new Response('fine');`));
    const pending = get('slow');
    await waitFor(() => t.node.driver.scheduler.stats().versions.find((v) => v.fn === 'slow')?.busy === 1, {
      what: 'the call in flight',
    });
    const before = t.node.driver.stats().hostRestarts;
    for (const pid of t.node.driver.hostPids()) process.kill(pid, 'SIGKILL');
    const res = await pending;
    assert.equal(res.status, 502);
    assert.equal((await json(res)).error.code, 'PROCYON_HOST_CRASHED');
    assert.ok(t.node.driver.stats().hostRestarts > before);
    const ok = await get('fine');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'fine');
  });

  it('unknown function and route: 404 with a JSON error', async () => {
    const a = await get('nope');
    assert.equal(a.status, 404);
    assert.equal((await json(a)).error.code, 'PROCYON_FN_NOT_FOUND');
    const b = await fetch(`${t.url}/no/such/route`);
    assert.equal(b.status, 404);
    assert.equal((await json(b)).error.code, 'PROCYON_ROUTE_NOT_FOUND');
  });

  it('escape probes inside a function find no host objects', async () => {
    const probeCode = fetchFn(`
      const out = {};
      out.ctor = (function(){}).constructor.constructor('return typeof process')();
      out.require = typeof globalThis['req' + 'uire'];
      out.process = typeof process; out.runtime = typeof globalThis.__procyon;
      out.hostKeys = Object.getOwnPropertyNames(globalThis).filter((k) => /^(process|global|Buffer|__procyon.*|_ivm.*)$/.test(k));
      return Response.json(out);`);
    assert.equal((await t.deploy('probe', probeCode)).status, 201);
    const res = await get('probe');
    assert.deepEqual(await json(res), {
      ctor: 'undefined',
      require: 'undefined',
      process: 'undefined',
      runtime: 'undefined',
      hostKeys: [],
    });
    const imp = await t.deploy(
      'importer',
      'import fs from "node:fs"; export default { fetch() { return new Response(String(fs)); } };',
    );
    assert.equal(imp.status, 400);
  });
});

describe('slow clients', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ headersTimeoutMs: 500 });
  });
  after(async () => t.stop());

  it('a client sending headers byte by byte is cut off at the headers timeout; others are served', async () => {
    const { connect } = await import('node:net');
    const socket = connect(new URL(t.url).port ? Number(new URL(t.url).port) : 80, '127.0.0.1');
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
    socket.on('error', () => undefined);
    const t0 = performance.now();
    let i = 0;
    const drip = setInterval(() => {
      if (i < request.length && !socket.destroyed) socket.write(request[i++] as string);
    }, 20);
    // While the slow client drips, a normal client is answered at once.
    const ok = await fetch(`${t.url}/healthz`);
    assert.equal(ok.status, 200);
    const end = await closed;
    clearInterval(drip);
    assert.ok(end - t0 < 3_000, `slow client cut off after ${Math.round(end - t0)} ms`);
    assert.ok(i < request.length, 'the server closed before the headers were complete');
    assert.match(received, /^HTTP\/1\.1 408/);
    assert.match(received, /"code":"PROCYON_REQUEST_TIMEOUT"/, 'in the platform error shape');
  });
});

describe('admission', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ maxConcurrencyPerFunction: 1, queueSize: 1, queueTimeoutMs: 300 });
  });
  after(async () => t.stop());

  it('a call flood gets 429 with Retry-After beyond the limit and queue; nothing else is lost', async () => {
    await t.deploy(
      'busy',
      `export default { fetch() { const end = Date.now() + 600; while (Date.now() < end) {} return new Response('done'); } };`,
    );
    const calls = [0, 1, 2].map(() => fetch(`${t.url}/fn/default/busy`));
    const results = await Promise.all(calls);
    const statuses = results.map((r) => r.status).sort();
    // One runs, one waits in the queue past its 300 ms deadline, one finds the queue full.
    assert.deepEqual(statuses, [200, 429, 429]);
    const limited = results.find((r) => r.status === 429);
    assert.equal(limited?.headers.get('retry-after'), '1');
    assert.equal((await json(limited)).error.code, 'PROCYON_TOO_MANY_REQUESTS');
    await t.node.recorder.flush();
    const acts = await t.api('GET', '/api/v1/namespaces/default/activations?fn=busy');
    assert.equal(
      acts.body.activations.length,
      1,
      'rejected calls were never accepted, so they have no record',
    );
    assert.equal((await fetch(`${t.url}/fn/default/busy`)).status, 200, 'the next call after the flood runs');
  });
});
