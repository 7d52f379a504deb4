/**
 * A local HTTP server for `fetch` tests to call (runtime and end-to-end): echoes requests, redirects,
 * sends cookies, compressed and large bodies, and slow responses, and counts what it saw.
 *
 * Routes: /echo (method, path, headers, body as JSON), /redirect?status=&to=, /loop (redirects to
 * itself), /cookies (two Set-Cookie), /bytes?n= (n bytes), /gzip, /status?code=, /hold?ms= (answers
 * after ms, or never; counts concurrency and requests the client gave up on), /stats (those counts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface TargetServer {
  server: Server;
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  stats: { holding: number; maxHolding: number; abandoned: number; requests: number };
  close(): Promise<void>;
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTargetServer(): Promise<TargetServer> {
  const stats = { holding: 0, maxHolding: 0, abandoned: 0, requests: 0 };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://target');
    const param = (name: string): string => url.searchParams.get(name) ?? '';
    switch (url.pathname) {
      case '/echo': {
        const headers: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          headers.push([(req.rawHeaders[i] as string).toLowerCase(), req.rawHeaders[i + 1] as string]);
        const body = await readAll(req);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, path: req.url, headers, body }));
        return;
      }
      case '/redirect':
        res.writeHead(Number(param('status') || 302), { location: param('to') }).end('moved');
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/cookies':
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
        res.setHeader('x-multi', ['one', 'two']);
        res.end('cookies');
        return;
      case '/bytes':
        res.end(Buffer.alloc(Number(param('n')), 120));
        return;
      case '/gzip':
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
        res.end(gzipSync('hello, compressed world'));
        return;
      case '/status':
        res.writeHead(Number(param('code')), 'Custom Reason').end();
        return;
      case '/hold': {
        stats.holding++;
        stats.maxHolding = Math.max(stats.maxHolding, stats.holding);
        const ms = Number(param('ms') || 0);
        const timer = ms > 0 ? setTimeout(() => res.end('held'), ms) : null;
        res.on('close', () => {
          stats.holding--;
          if (timer) clearTimeout(timer);
          if (!res.writableFinished) stats.abandoned++;
        });
        return;
      }
      case '/stats':
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(stats));
        return;
      default:
        res.writeHead(404).end('not found');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
