/**
 * Slow and greedy clients (RELIABILITY cases 10 and 26): request bodies dripped a byte at a time
 * are cut at the request timeout, one address cannot hold more than its share of connections,
 * and meanwhile everyone else is served. Slow clients connect from other loopback addresses
 * (127.0.0.2 to 127.0.0.7) so the per-address cap does not touch the test's own fetches.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from './node.js';
import { openRaw, parseResponse, rawRequest, type RawConnection } from './raw-http.js';
import { waitFor } from '../wait.js';

const NS = 'slow-clients';
const ECHO = `export default { async fetch(request) { return new Response(String((await request.arrayBuffer()).byteLength)); } };`;
// Ten chunks 250 ms apart: the response lasts at least 2.5 s, well past a 1 s request timeout.
const LONG_STREAM = `export default { fetch() {
  let n = 0;
  return new Response(new ReadableStream({ async pull(c) {
    if (n === 10) { c.close(); return; }
    await new Promise((r) => setTimeout(r, 250));
    c.enqueue(new TextEncoder().encode('tick' + n++ + '\\n'));
  } }));
} };`;

async function setUp(t: TestNode): Promise<void> {
  assert.equal((await t.api('PUT', `/api/v1/namespaces/${NS}`)).status, 201);
  for (const [name, code] of [
    ['echo', ECHO],
    ['long', LONG_STREAM],
  ]) {
    const res = await t.api('PUT', `/api/v1/namespaces/${NS}/functions/${name}`, {
      code,
      filename: `${name}.js`,
      timeout: 30_000,
    });
    assert.equal(res.status, 201, name);
  }
}

describe('slow request bodies', () => {
  const CAP = 30;
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ headersTimeoutMs: 500, requestTimeoutMs: 1_000, maxConnectionsPerIp: CAP });
    await setUp(t);
  });
  after(async () => t.stop());

  it('300 bodies sent a byte at a time get 408 at the request timeout or 429 past the cap; others are served', async () => {
    // 300 clients from five addresses, twice the cap from each.
    const clients: { conn: RawConnection; sent: number }[] = [];
    for (let i = 0; i < 300; i++) {
      const conn = await openRaw(t.url, `127.0.0.${3 + (i % 5)}`);
      conn.socket.write(`POST /fn/${NS}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
      clients.push({ conn, sent: 0 });
    }
    const drip = setInterval(() => {
      for (const c of clients) {
        if (c.conn.socket.destroyed) continue;
        c.conn.socket.write('a');
        c.sent++;
      }
    }, 100);
    try {
      // While they drip, a normal client is served (function call and health).
      const call = await fetch(`${t.url}/fn/${NS}/echo`, { method: 'POST', body: 'hello' });
      assert.equal(await call.text(), '5');
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
      await waitFor(() => clients.every((c) => c.conn.socket.destroyed), {
        timeoutMs: 20_000,
        what: 'every slow client to be cut off',
      });
    } finally {
      clearInterval(drip);
    }
    const codes = clients.map((c) => {
      assert.ok(c.sent < 1000, 'cut off before the body was complete');
      const res = parseResponse(c.conn.received());
      assert.ok(res, `an answer before the close: ${JSON.stringify(c.conn.received())}`);
      return (res.body as { error: { code: string } }).error.code;
    });
    const timedOut = codes.filter((c) => c === 'PROCYON_REQUEST_TIMEOUT').length;
    const refused = codes.filter((c) => c === 'PROCYON_TOO_MANY_CONNECTIONS').length;
    assert.equal(timedOut + refused, codes.length, codes.join());
    assert.ok(timedOut >= 1 && refused >= 1, `${timedOut} timed out, ${refused} refused`);
  });

  it('a response streamed for longer than the request timeout is not cut', async () => {
    const started = Date.now();
    const res = await fetch(`${t.url}/fn/${NS}/long`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(text, Array.from({ length: 10 }, (_, i) => `tick${i}\n`).join(''));
    assert.ok(Date.now() - started > 1_000, 'the response outlasted the request timeout');
  });
});

describe('connections per client address', () => {
  const CAP = 20;
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ maxConnectionsPerIp: CAP });
    await setUp(t);
  });
  after(async () => t.stop());

  it('past the cap a connection gets 429 with Retry-After and is closed; other addresses are served', async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < CAP; i++) held.push(await openRaw(t.url, '127.0.0.2'));
    const extra = await openRaw(t.url, '127.0.0.2');
    await extra.closed;
    const refused = parseResponse(extra.received());
    assert.ok(refused, `an answer before the close: ${JSON.stringify(extra.received())}`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((refused.body as { error: { code: string } }).error.code, 'PROCYON_TOO_MANY_CONNECTIONS');
    // Another address is not affected.
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    // A held connection still works, and once one closes the address may connect again.
    const first = held.shift() as RawConnection;
    first.socket.destroy();
    await first.closed;
    const again = await waitFor(
      async () => {
        const res = await rawRequest(t.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.2');
        return res.status === 200 ? res : undefined;
      },
      { what: 'a connection from the address once it is under the cap' },
    );
    assert.equal(again.status, 200);
    for (const conn of held) conn.socket.destroy();
  });
});
