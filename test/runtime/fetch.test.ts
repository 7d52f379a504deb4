/**
 * `fetch` inside an isolate (src/runtime/fetch.ts) through the real host bridge
 * (src/sandbox/isolate/bridges/fetch.ts, http-client.ts) against a local server: requests and
 * responses, redirect modes and rewrites, the egress policy on every hop, limits, and aborts.
 * End-to-end runs through a node are in test/e2e/web-bridges.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTargetServer, type TargetServer } from '../e2e/target-server.js';
import { waitFor } from '../wait.js';
import { evalBridged, type BridgedOptions } from './bridged.js';

let target: TargetServer;

before(async () => {
  target = await startTargetServer();
});
after(() => target.close());

/**
 * In-isolate helper: `await holding(n)` waits until the target holds at least n requests and returns
 * how many it holds (`holding()`: now), so a test acts once a request has really arrived.
 */
const HOLDING = `const holding = async (atLeast = 0) => {
  for (;;) {
    const n = (await (await fetch(T + '/stats')).json()).holding;
    if (n >= atLeast) return n;
    await sleep(5);
  }
};`;

/** Runs `body` with `T` = the target's origin and the target allowed. */
async function run<T>(body: string, options: BridgedOptions = {}): Promise<T> {
  const allow = [`127.0.0.1:${target.port}`];
  const prelude = `const T = ${JSON.stringify(target.origin)};\n${HOLDING}\n`;
  return (await evalBridged<T>(`${prelude}${body}`, { allow, ...options })).value;
}

describe('fetch', () => {
  test('GET: status, headers, body, url; user-agent added; no other headers invented', async () => {
    const value = await run<Record<string, unknown>>(`
      const res = await fetch(T + '/echo?x=1');
      const echo = await res.json();
      const custom = await (await fetch(T + '/echo', { headers: { 'User-Agent': 'mine/1', 'X-Test': 'y' } })).json();
      return { ok: res.ok, status: res.status, type: res.headers.get('content-type'), url: res.url,
        redirected: res.redirected, echo, custom: custom.headers, isResponse: res instanceof Response };
    `);
    assert.equal(value.status, 200);
    assert.equal(value.ok, true);
    assert.equal(value.type, 'application/json');
    assert.equal(value.url, `${target.origin}/echo?x=1`);
    assert.equal(value.redirected, false);
    assert.equal(value.isResponse, true);
    const echo = value.echo as { method: string; path: string; headers: [string, string][] };
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/echo?x=1');
    assert.deepEqual(echo.headers.map(([n]) => n).sort(), ['connection', 'host', 'user-agent']);
    assert.deepEqual(
      echo.headers.find(([n]) => n === 'user-agent'),
      ['user-agent', 'Procyon'],
    );
    const custom = value.custom as [string, string][];
    assert.deepEqual(
      custom.filter(([n]) => n === 'user-agent' || n === 'x-test'),
      [
        ['user-agent', 'mine/1'],
        ['x-test', 'y'],
      ],
    );
  });

  test('POST bodies of every kind; a Request as input; host-set headers are not taken from the user', async () => {
    const value = await run<unknown[]>(`
      const a = await (await fetch(T + '/echo', { method: 'POST', body: 'plain text' })).json();
      const b = await (await fetch(new Request(T + '/echo', { method: 'PUT', body: new Uint8Array([104, 105]) }))).json();
      const c = await (await fetch(T + '/echo', { method: 'POST', body: new URLSearchParams({ q: 'a b' }),
        headers: { host: 'evil.example', 'content-length': '999', 'transfer-encoding': 'chunked' } })).json();
      const header = (echo, name) => echo.headers.filter(([n]) => n === name).map(([, v]) => v);
      return [a.method, a.body, header(a, 'content-type'), header(a, 'content-length'),
        b.method, b.body, c.body, header(c, 'host'), header(c, 'content-length'), header(c, 'transfer-encoding')];
    `);
    assert.deepEqual(value, [
      'POST',
      'plain text',
      ['text/plain;charset=UTF-8'],
      ['10'],
      'PUT',
      'hi',
      'q=a+b',
      [`127.0.0.1:${target.port}`],
      ['5'],
      [],
    ]);
  });

  test('multiple Set-Cookie headers stay separate; other repeated headers combine; headers are immutable', async () => {
    const value = await run<unknown[]>(`
      const res = await fetch(T + '/cookies');
      return [res.headers.getSetCookie(), res.headers.get('x-multi'), await res.text(),
        thrown(() => res.headers.set('x', 'y'))];
    `);
    assert.deepEqual(value.slice(0, 3), [['a=1; Path=/', 'b=2; HttpOnly'], 'one, two', 'cookies']);
    assert.match(value[3] as string, /^TypeError/);
  });

  test('redirects: followed with url and redirected; 303 and 301/302 of a POST become GET; 307 keeps the body', async () => {
    const value = await run<unknown[]>(`
      const to = (status, path) => T + '/redirect?status=' + status + '&to=' + encodeURIComponent(path);
      const follow = await fetch(to(302, '/echo?after=1'));
      const seeOther = await (await fetch(to(303, '/echo'), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/x' } })).json();
      const moved = await (await fetch(to(301, '/echo'), { method: 'POST', body: 'x' })).json();
      const temporary = await (await fetch(to(307, '/echo'), { method: 'POST', body: 'kept' })).json();
      const relative = await fetch(to(308, 'echo?relative'));
      return [follow.status, follow.url, follow.redirected, (await follow.json()).path,
        seeOther.method, seeOther.body, seeOther.headers.some(([n]) => n === 'content-type'),
        moved.method, temporary.method, temporary.body, relative.url];
    `);
    assert.deepEqual(value, [
      200,
      `${target.origin}/echo?after=1`,
      true,
      '/echo?after=1',
      'GET',
      '',
      false,
      'GET',
      'POST',
      'kept',
      `${target.origin}/echo?relative`,
    ]);
  });

  test('redirect modes: manual returns the 3xx, error rejects, more than 20 hops rejects', async () => {
    const value = await run<unknown[]>(`
      const manual = await fetch(T + '/redirect?status=302&to=/echo', { redirect: 'manual' });
      return [manual.status, manual.headers.get('location'), await manual.text(), manual.redirected,
        await rejected(() => fetch(T + '/redirect?to=/echo', { redirect: 'error' })),
        await rejected(() => fetch(T + '/loop')),
        await rejected(() => fetch(T + '/echo', { redirect: 'sometimes' }))];
    `);
    assert.deepEqual(value.slice(0, 4), [302, '/echo', 'moved', false]);
    assert.match(
      value[4] as string,
      /^TypeError: fetch to .* was redirected \(302\) and redirect is "error"/,
    );
    assert.match(value[5] as string, /^TypeError: fetch to .*\/loop was redirected more than 20 times/);
    assert.match(value[6] as string, /^TypeError: fetch: redirect must be/);
  });

  test('the egress policy: loopback without allow, metadata, localhost by DNS, and a redirect to a denied host', async () => {
    const value = await run<string[]>(
      `
      return [
        await rejected(() => fetch(T + '/echo')),
        await rejected(() => fetch('http://127.0.0.1/')),
        await rejected(() => fetch('http://169.254.169.254/latest/meta-data/')),
        await rejected(() => fetch('http://[::ffff:127.0.0.1]:' + ${target.port} + '/echo')),
        await rejected(() => fetch('http://localhost:' + ${target.port} + '/echo')),
        await rejected(() => fetch('http://10.0.0.1/')),
      ];
    `,
      { allow: [] },
    );
    assert.deepEqual(value.slice(0, 3), [
      `TypeError: fetch to ${target.origin}/echo denied by egress policy: loopback address`,
      'TypeError: fetch to http://127.0.0.1/ denied by egress policy: loopback address',
      'TypeError: fetch to http://169.254.169.254/latest/meta-data/ denied by egress policy: cloud metadata address',
    ]);
    assert.match(
      value[3] as string,
      /^TypeError: fetch to http:\/\/\[::ffff:7f00:1\]:\d+\/echo denied by egress policy: loopback address$/,
    );
    assert.match(
      value[4] as string,
      /^TypeError: fetch to http:\/\/localhost:\d+\/echo denied by egress policy: loopback address \(localhost resolves to (127\.0\.0\.1|::1)\)$/,
    );
    assert.equal(value[5], 'TypeError: fetch to http://10.0.0.1/ denied by egress policy: private address');

    const redirected = await run<string>(`
      return rejected(() => fetch(T + '/redirect?to=' + encodeURIComponent('http://169.254.169.254/')));
    `);
    assert.equal(
      redirected,
      'TypeError: fetch to http://169.254.169.254/ denied by egress policy: cloud metadata address',
    );
    const reserved = await run<string>(`return rejected(() => fetch(T + '/echo'));`, {
      deny: [`*:${target.port}`],
    });
    assert.equal(
      reserved,
      `TypeError: fetch to ${target.origin}/echo denied by egress policy: reserved for the node's own services (*:${target.port})`,
    );
  });

  test('unsupported schemes and bad input reject with TypeError', async () => {
    const value = await run<string[]>(
      `
      return [await rejected(() => fetch('file:///etc/passwd')), await rejected(() => fetch('data:,hello')),
        await rejected(() => fetch('not a url')), await rejected(() => fetch(T + '/echo', { method: 'GET', body: 'x' })),
        await rejected(() => fetch('http://127.0.0.1:1/'))];
    `,
      { allow: ['127.0.0.1:1', `127.0.0.1`] },
    );
    assert.match(value[0] as string, /^TypeError: fetch: file URLs are not supported/);
    assert.match(value[1] as string, /^TypeError: fetch: data URLs are not supported/);
    assert.match(value[2] as string, /^TypeError: /);
    assert.match(value[3] as string, /^TypeError: /);
    assert.match(
      value[4] as string,
      /^TypeError: fetch to http:\/\/127\.0\.0\.1:1\/ failed: connect ECONNREFUSED/,
    );
  });

  test('response bodies: gzip is decoded, HEAD and 204 have none, the size cap rejects', async () => {
    const value = await run<unknown[]>(
      `
      const gz = await fetch(T + '/gzip');
      const head = await fetch(T + '/bytes?n=10', { method: 'HEAD' });
      const empty = await fetch(T + '/status?code=204');
      const fits = await fetch(T + '/bytes?n=1000');
      return [await gz.text(), gz.headers.get('content-encoding'), head.body === null, empty.status, empty.statusText,
        empty.body === null, (await fits.arrayBuffer()).byteLength, await rejected(() => fetch(T + '/bytes?n=1001'))];
    `,
      { maxResponseBytes: 1000 },
    );
    assert.deepEqual(value.slice(0, 7), [
      'hello, compressed world',
      'gzip',
      true,
      204,
      'Custom Reason',
      true,
      1000,
    ]);
    assert.equal(
      value[7],
      `TypeError: fetch to ${target.origin}/bytes?n=1001: the response body is larger than 1000 bytes`,
    );
  });

  test('the per-fetch timeout rejects, and the server sees the request dropped', async () => {
    const before = target.stats.abandoned;
    const value = await run<string>(`return rejected(() => fetch(T + '/hold'));`, { fetchTimeoutMs: 150 });
    assert.equal(value, `TypeError: fetch to ${target.origin}/hold timed out after 150 ms`);
    await waitFor(() => target.stats.abandoned > before);
  });

  test('at most 6 sub-requests run at once; the rest wait for a slot', async () => {
    target.stats.maxHolding = 0;
    const value = await run<string[]>(`
      const all = await Promise.all(Array.from({ length: 10 }, () => fetch(T + '/hold?ms=60').then((r) => r.text())));
      return all;
    `);
    assert.deepEqual(value, new Array(10).fill('held'));
    assert.equal(target.stats.maxHolding, 6);
  });

  test("an aborted signal rejects with its reason and stops the host's request", async () => {
    const before = target.stats.abandoned;
    const value = await run<string[]>(`
      const controller = new AbortController();
      const base = await holding();
      const pending = fetch(T + '/hold', { signal: controller.signal });
      await holding(base + 1); // it reached the server, so stopping it is seen there
      controller.abort();
      return [await rejected(() => pending),
        await rejected(() => fetch(T + '/echo', { signal: AbortSignal.abort() })),
        // Long enough for the request to reach the server on a loaded machine.
        await rejected(() => fetch(T + '/hold', { signal: AbortSignal.timeout(1_000) }))];
    `);
    assert.deepEqual(value, [
      'AbortError: This operation was aborted',
      'AbortError: This operation was aborted',
      'TimeoutError: The operation timed out.',
    ]);
    await waitFor(() => target.stats.abandoned >= before + 2, { what: 'both held requests abandoned' });
  });

  test('the end of the call stops its sub-requests', async () => {
    const before = target.stats.abandoned;
    await run(
      `const base = await holding(); fetch(T + '/hold').catch(() => {}); await holding(base + 1); return 1;`,
    );
    await waitFor(() => target.stats.abandoned > before);
  });
});
