import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EgressPolicy } from '../egress/index.js';
import { EgressProxy, proxyEnv } from './egress-proxy.js';

/** Sends `CONNECT target` through the proxy; returns its status line and, if open, the socket. */
function tunnel(socket: string, target: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let data = '';
    s.on('data', (c: Buffer) => {
      data += c.toString();
      if (data.startsWith('HTTP/1.1 200') && data.includes('\r\n\r\n') && !data.includes('echo:'))
        s.write('ping');
      if (data.includes('echo:ping')) s.end();
    });
    s.on('close', () => resolve({ status: data.split('\r\n')[0] ?? '', body: data }));
    s.on('error', reject);
    s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
  });
}

function get(socket: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, path: url, headers: { host: url.startsWith('http') ? new URL(url).host : 'x' } },
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

describe('EgressProxy', () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'procyon-egress-')), 'egress.sock');
  let proxy: EgressProxy;
  let echo: TcpServer;
  let web: Server;
  let decoy: TcpServer;
  let echoPort = 0;
  let webPort = 0;
  let decoyPort = 0;
  let decoyHits = 0;

  before(async () => {
    echo = createTcpServer((s) => s.on('data', (d) => s.write(`echo:${d.toString()}`)));
    web = createServer((req, res) => res.end(`web saw ${req.url} host=${req.headers.host}`));
    decoy = createTcpServer((s) => {
      decoyHits++;
      s.end();
    });
    await Promise.all(
      [echo, web, decoy].map((srv) => new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))),
    );
    echoPort = (echo.address() as AddressInfo).port;
    webPort = (web.address() as AddressInfo).port;
    decoyPort = (decoy.address() as AddressInfo).port;
    proxy = await EgressProxy.listen(socket, {
      policy: new EgressPolicy([`127.0.0.1:${echoPort}`, `127.0.0.1:${webPort}`], ['*:4222', '*:5432']),
      timeoutMs: 2_000,
    });
  });
  after(async () => {
    await proxy.close();
    echo.close();
    web.close();
    decoy.close();
  });

  test('CONNECT to an allowed target tunnels bytes both ways', async () => {
    const r = await tunnel(socket, `127.0.0.1:${echoPort}`);
    assert.equal(r.status, 'HTTP/1.1 200 Connection Established');
    assert.match(r.body, /echo:ping/);
  });

  test('denied targets get 403 naming why, and no connection is made', async () => {
    for (const [target, why] of [
      [`127.0.0.1:${decoyPort}`, /loopback/],
      ['169.254.169.254:80', /link-local|metadata/],
      ['127.0.0.1:4222', /reserved for the node's own services/],
      ['127.0.0.1:5432', /reserved/],
      [`localhost:${decoyPort}`, /loopback/],
    ] as const) {
      const r = await tunnel(socket, target);
      assert.match(r.status, /^HTTP\/1\.1 403/, target);
      assert.match(r.body, why, target);
    }
    assert.equal(decoyHits, 0);
  });

  test('plain HTTP in proxy form is forwarded; origin form and bad targets are 400/502', async () => {
    assert.deepEqual(await get(socket, `http://127.0.0.1:${webPort}/a?b=1`), {
      status: 200,
      body: `web saw /a?b=1 host=127.0.0.1:${webPort}`,
    });
    assert.equal((await get(socket, `http://127.0.0.1:${decoyPort}/`)).status, 403);
    assert.equal((await get(socket, '/relative')).status, 400);
    assert.equal((await get(socket, 'http://no-such-host.invalid/')).status, 502);
    assert.equal(decoyHits, 0);
  });

  test('proxyEnv points every client convention at the port', () => {
    const env = proxyEnv(9002);
    assert.equal(env.HTTPS_PROXY, 'http://127.0.0.1:9002');
    assert.equal(env.http_proxy, 'http://127.0.0.1:9002');
    assert.match(env.NO_PROXY ?? '', /127\.0\.0\.1/);
  });
});
