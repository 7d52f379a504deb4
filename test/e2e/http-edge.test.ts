/**
 * Bad input at the HTTP edge (RELIABILITY cases 7, 8, 9, 27): every request a client can send is
 * answered 4xx in the platform's `{error:{code,message}}` shape, never a 500, a Fastify-shaped
 * body or a silent close. Raw sockets send what fetch cannot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type ApiBody, type TestNode } from './node.js';
import { openRaw, parseResponse, rawRequest, type RawResponse } from './raw-http.js';
import { waitFor } from '../wait.js';

const NS = 'http-edge';
// Room for a 100,000-deep body (200 KB), which must fail on its depth, not its size.
const LIMIT = 256 * 1024;

const ECHO = `export default { async fetch(request) { return new Response(String((await request.arrayBuffer()).byteLength)); } };`;
const EVENT = `export const handler = async (event) => ({ depth: event.depth ?? null });`;
const BOX = `export class Box { async onMessage(from, m) { return m; } }`;
const BIG_FETCH = `export default { fetch() { return new Response('x'.repeat(${LIMIT} + 1)); } };`;
const DEEP_RESULT = `export const handler = async (e) => { let v = 0; for (let i = 0; i < e.depth; i++) v = [v]; return v; };`;
const BIG_EVENT = `export const handler = async () => 'x'.repeat(${LIMIT} + 1);`;

/** `[[[...]]]` nested `depth` deep, with `inner` in the middle. */
const nested = (depth: number, inner = ''): string => '['.repeat(depth) + inner + ']'.repeat(depth);

/** Asserts a 4xx in the platform's shape, with the code when given. */
function assertPlatformError(res: { status: number; body: ApiBody }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, 'string', `platform shape: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, code);
}

describe('bad input at the HTTP edge', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ maxPayloadBytes: LIMIT });
    assert.equal((await t.api('PUT', `/api/v1/namespaces/${NS}`)).status, 201);
    const deploy = (name: string, code: string, extra: Record<string, unknown> = {}) =>
      t.api('PUT', `/api/v1/namespaces/${NS}/functions/${name}`, { code, filename: `${name}.js`, ...extra });
    for (const [name, code, extra] of [
      ['echo', ECHO, {}],
      ['event', EVENT, {}],
      ['Box', BOX, { process: { className: 'Box' } }],
      ['bigfetch', BIG_FETCH, {}],
      ['bigevent', BIG_EVENT, {}],
      ['deepresult', DEEP_RESULT, {}],
    ] as const) {
      assert.equal((await deploy(name, code, extra)).status, 201, name);
    }
  });
  after(async () => t.stop());

  const post = async (path: string, body: string, method = 'POST') => {
    const res = await fetch(`${t.url}/api/v1/namespaces/${NS}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: (await res.json()) as ApiBody };
  };

  it('JSON nested 5,000 and 100,000 deep is a 400 on invoke, KV put and process call', async () => {
    for (const depth of [5_000, 100_000]) {
      assertPlatformError(await post('/functions/event/invoke', nested(depth)), 400, 'PROCYON_BAD_REQUEST');
      assertPlatformError(await post('/kv/store/values/k', nested(depth), 'PUT'), 400, 'PROCYON_BAD_REQUEST');
      const call = await post('/procs/Box/one/call', `{"message":${nested(depth)}}`);
      assertPlatformError(call, 400, 'PROCYON_BAD_REQUEST');
      assert.match(call.body.error.message, /nested deeper than 100/);
    }
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'the node is still up');
  });

  it('JSON within the depth limit still works, brackets inside strings do not count', async () => {
    const ok = await post('/functions/event/invoke', `{"depth":${nested(99, '"[[[[{{{{\\\\"')}}`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.depth.length, 1);
    const stored = await post('/kv/store/values/k', nested(100), 'PUT');
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    const call = await post('/procs/Box/one/call', `{"message":${nested(99)}}`);
    assert.equal(call.status, 200, JSON.stringify(call.body));
  });

  it('a handler result nested 1,001 or 5,000 deep is 502 PROCYON_BAD_RESPONSE; 1,000 deep is returned', async () => {
    const ok = await post('/functions/deepresult/invoke', '{"depth":1000}');
    assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 200));
    for (const depth of [1_001, 5_000]) {
      assertPlatformError(
        await post('/functions/deepresult/invoke', `{"depth":${depth}}`),
        502,
        'PROCYON_BAD_RESPONSE',
      );
    }
  });

  it('__proto__ and constructor.prototype keys are refused and pollute nothing', async () => {
    const bodies = ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'];
    for (const body of bodies) {
      assertPlatformError(await post('/functions/event/invoke', body), 400, 'PROCYON_BAD_REQUEST');
      assertPlatformError(await post('/kv/store/values/p', body, 'PUT'), 400, 'PROCYON_BAD_REQUEST');
      assertPlatformError(
        await post('/procs/Box/one/call', `{"message":${body}}`),
        400,
        'PROCYON_BAD_REQUEST',
      );
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('TRACE on the gateway and CONNECT are 405 in the platform shape', async () => {
    const trace = await rawRequest(t.url, `TRACE /fn/${NS}/echo HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertPlatformError(trace, 405, 'PROCYON_METHOD_NOT_ALLOWED');
    assert.equal(trace.headers.get('x-procyon-activation-id'), undefined, 'the function never ran');
    const connect = await rawRequest(
      t.url,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    assertPlatformError(connect, 405, 'PROCYON_METHOD_NOT_ALLOWED');
  });

  it('an invalid Host (port 99999, a broken IPv6 literal) or none is 400 in the platform shape, not 500', async () => {
    for (const host of ['x:99999', '[::::]']) {
      const res = await rawRequest(t.url, `GET /fn/${NS}/echo HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assertPlatformError(res, 400, 'PROCYON_BAD_REQUEST');
    }
    const missing = await rawRequest(t.url, `GET /fn/${NS}/echo HTTP/1.1\r\n\r\n`);
    assertPlatformError(missing, 400, 'PROCYON_BAD_REQUEST');
    const ok = await rawRequest(t.url, `GET /fn/${NS}/echo HTTP/1.1\r\nHost: svc_name:8080\r\n\r\n`);
    assert.equal(ok.status, 200);
  });

  it("requests Node's parser refuses are 400/431 in the platform shape", async () => {
    const cases: [string, string, number, string][] = [
      [
        'duplicate Content-Length',
        'Content-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
        400,
        'PROCYON_BAD_REQUEST',
      ],
      ['bad Content-Length', 'Content-Length: 1x\r\n\r\na', 400, 'PROCYON_BAD_REQUEST'],
      [
        'Content-Length with Transfer-Encoding',
        'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'PROCYON_BAD_REQUEST',
      ],
      ['NUL in a header', 'X-A: a\0b\r\n\r\n', 400, 'PROCYON_BAD_REQUEST'],
      ['headers over 16 KiB', `X-A: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'PROCYON_HEADERS_TOO_LARGE'],
    ];
    for (const [what, rest, status, code] of cases) {
      const res = await rawRequest(t.url, `POST /fn/${NS}/echo HTTP/1.1\r\nHost: x\r\n${rest}`);
      assert.equal(res.status, status, what);
      assertPlatformError(res, status, code);
    }
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'the node is still up');
  });

  it('a body announced over the limit is 413 before it is sent; exactly at the limit succeeds', async () => {
    // 1 GB announced, 1 KiB sent: the answer comes without waiting for (or buffering) the rest.
    const big = await rawRequest(
      t.url,
      `POST /fn/${NS}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n${'a'.repeat(1024)}`,
    );
    assertPlatformError(big, 413, 'PROCYON_PAYLOAD_TOO_LARGE');
    // Chunked, no length announced: refused once past the limit, though the body never ended.
    const conn = await openRaw(t.url);
    const chunk = 'b'.repeat(16 * 1024);
    conn.socket.write(`POST /fn/${NS}/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    for (let sent = 0; sent <= LIMIT; sent += chunk.length)
      conn.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const refused = await waitFor(() => parseResponse(conn.received()), {
      what: 'a 413 for an unfinished chunked body',
    });
    conn.socket.destroy();
    assertPlatformError(refused, 413, 'PROCYON_PAYLOAD_TOO_LARGE');
    const at = await fetch(`${t.url}/fn/${NS}/echo`, { method: 'POST', body: new Uint8Array(LIMIT) });
    assert.equal(at.status, 200);
    assert.equal(await at.text(), String(LIMIT));
  });

  it('a result over the limit is the same 413 PROCYON_RESPONSE_TOO_LARGE over HTTP and via invoke', async () => {
    const results: RawResponse[] = [];
    for (const fn of ['bigfetch', 'bigevent']) {
      const http = await fetch(`${t.url}/fn/${NS}/${fn}`);
      results.push({ status: http.status, headers: new Map(), body: await http.json() });
      results.push({ ...(await post(`/functions/${fn}/invoke`, '{}')), headers: new Map() });
    }
    for (const res of results) assertPlatformError(res, 413, 'PROCYON_RESPONSE_TOO_LARGE');
  });
});
