import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from './client.js';
import type { Target } from './config.js';
import { CliError } from './errors.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

/** A real HTTP server standing in for the node: answers by path, records what it received. */
async function fakeNode(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      const path = (req.url ?? '').split('?')[0];
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-procyon-activation-id': 'act-1' });
        res.end(JSON.stringify(value));
      };
      if (path === '/ok') return json(200, { hello: 'world' });
      if (path === '/missing') {
        return json(404, {
          error: { code: 'PROCYON_FN_NOT_FOUND', message: 'function "x" not found in namespace "default"' },
        });
      }
      if (path === '/unauthorized')
        return json(401, { error: { code: 'PROCYON_UNAUTHORIZED', message: 'invalid API key' } });
      if (path === '/html') {
        res.writeHead(502, { 'content-type': 'text/html' });
        return res.end('<h1>bad gateway</h1>');
      }
      if (path === '/not-json') {
        res.writeHead(200);
        return res.end('plain');
      }
      json(500, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function target(url: string, key?: string): Target {
  return { url, key, urlSource: 'flag', keySource: key === undefined ? undefined : 'flag' };
}

async function rejection(p: Promise<unknown>): Promise<CliError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CliError, `expected CliError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

void describe('ApiClient', () => {
  let node: Awaited<ReturnType<typeof fakeNode>>;
  void before(async () => {
    node = await fakeNode();
  });
  void after(() => node.server.close());

  void it('sends the key, the JSON body and query parameters', async () => {
    const client = new ApiClient(target(node.url, 'secret'));
    const { status, data } = await client.json('POST', '/ok', {
      body: { a: 1 },
      query: { fn: 'f', limit: 5, x: undefined },
    });
    assert.equal(status, 200);
    assert.deepEqual(data, { hello: 'world' });
    assert.deepEqual(node.seen.at(-1), {
      method: 'POST',
      url: '/ok?fn=f&limit=5',
      auth: 'Bearer secret',
      body: '{"a":1}',
    });
  });

  void it("turns the API's error body into code and message", async () => {
    const err = await rejection(new ApiClient(target(node.url, 'k')).json('GET', '/missing'));
    assert.equal(err.line(), 'PROCYON_FN_NOT_FOUND: function "x" not found in namespace "default"');
    assert.equal(err.status, 404);
    assert.equal(err.exitCode, 1);
    assert.equal(err.activationId, 'act-1');
  });

  void it('adds a hint to a 401 that depends on whether a key was sent', async () => {
    const withKey = await rejection(new ApiClient(target(node.url, 'wrong')).json('GET', '/unauthorized'));
    assert.match(
      withKey.line(),
      /^PROCYON_UNAUTHORIZED: invalid API key; check --key, PROCYON_KEY or procyon login/,
    );
    const without = await rejection(new ApiClient(target(node.url)).json('GET', '/unauthorized'));
    assert.match(without.line(), /no API key found; pass --key, set PROCYON_KEY or run procyon login$/);
    assert.equal(node.seen.at(-1)?.auth, undefined);
  });

  void it('reports a non-API error response by its status', async () => {
    const err = await rejection(new ApiClient(target(node.url, 'k')).json('GET', '/html'));
    assert.equal(err.line(), `HTTP 502 Bad Gateway from ${node.url}`);
  });

  void it('reports a 2xx that is not JSON', async () => {
    const err = await rejection(new ApiClient(target(node.url, 'k')).json('GET', '/not-json'));
    assert.match(err.message, /not JSON \(HTTP 200\)/);
  });

  void it('says how to start a node when the connection is refused', async () => {
    // A port that was just free: bind, read it, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${port}`;
    const err = await rejection(new ApiClient(target(url, 'k')).json('GET', '/api/v1/namespaces'));
    assert.equal(
      err.line(),
      `cannot reach ${url} (ECONNREFUSED); is the node running? start one with npm start`,
    );
  });

  void it('lets an abort through as is', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(new ApiClient(target(node.url, 'k')).json('GET', '/ok', { signal: ac.signal }), {
      name: 'AbortError',
    });
  });
});
