import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Endpoints } from './endpoints.js';

/** One request through the procs proxy at `socket`: absolute-form, as a proxy client sends it. */
function viaProxy(socket: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, path: url, method: 'GET', headers: { host: new URL(url).host } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('Endpoints: the procs proxy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-endpoints-'));
  const endpoints = new Endpoints();
  let proc: Server;
  const procSocket = join(dir, 'kv1.sock');
  const proxyA = join(dir, 'proxy-a.sock');
  const proxyB = join(dir, 'proxy-b.sock');

  before(async () => {
    proc = createServer((req, res) => res.end(`kv1 got ${req.method} ${req.url}`));
    await new Promise<void>((resolve) => proc.listen(procSocket, resolve));
    proc.on('connection', (s) => s.on('data', () => undefined));
    await endpoints.serveFor(proxyA, 'a');
    await endpoints.serveFor(proxyB, 'b');
    endpoints.publish('a', 'kv1', procSocket);
  });
  after(async () => {
    await endpoints.close();
    proc.close();
  });

  test('a proxy-form request reaches the proc by name in the same namespace only', async () => {
    assert.deepEqual(await viaProxy(proxyA, 'http://kv1/items?x=1'), {
      status: 200,
      body: 'kv1 got GET /items?x=1',
    });
    const other = await viaProxy(proxyB, 'http://kv1/items');
    assert.equal(other.status, 404);
    assert.match(other.body, /no proc "kv1" in this namespace/);
    assert.equal((await viaProxy(proxyA, 'http://nobody/')).status, 404);
  });

  test('CONNECT opens a byte stream to the proc', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(proxyA);
      let data = '';
      s.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.includes('\r\n\r\n') && !data.includes('kv1 got'))
          s.write('GET /raw HTTP/1.1\r\nhost: kv1\r\nconnection: close\r\n\r\n');
      });
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.write('CONNECT kv1:0 HTTP/1.1\r\nhost: kv1:0\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200 Connection Established/);
    assert.match(reply, /kv1 got GET \/raw/);
  });

  test('an unpublished name is gone at once', async () => {
    endpoints.unpublish('a', 'kv1');
    assert.equal((await viaProxy(proxyA, 'http://kv1/')).status, 404);
    endpoints.publish('a', 'kv1', procSocket);
  });

  test('waitListening sees a TCP port in LISTEN state, and gives up when the proc is gone', async () => {
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await endpoints.waitListening(process.pid, port, new Promise(() => undefined), 5_000);
    server.close();
    await assert.rejects(
      endpoints.waitListening(process.pid, port, Promise.resolve(), 5_000),
      /exited before it listened on port/,
    );
  });
});
