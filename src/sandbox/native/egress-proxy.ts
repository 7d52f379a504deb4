/**
 * A native-driver sandbox's only way to the network (docs/native-driver.md): an HTTP proxy the
 * node serves on a socket in the sandbox's run directory, reached inside as 127.0.0.1:9002 through
 * HTTP_PROXY / HTTPS_PROXY. It applies the isolates' egress policy (src/sandbox/egress) to every
 * address a name resolves to, connects only to an allowed one, and refuses the rest with 403.
 * `CONNECT` tunnels HTTPS and any TCP; absolute-form requests are forwarded as plain HTTP.
 */
import { lookup } from 'node:dns/promises';
import { chmod } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { endToEndHeaders, type EgressPolicy } from '../egress/index.js';

export interface EgressProxyOptions {
  policy: EgressPolicy;
  /** Connecting, and a tunnel idle this long, end. (ms) */
  timeoutMs: number;
  /** Open client connections at once. @default 64 */
  maxConnections?: number;
}

/** The environment that sends a program's HTTP(S) clients through the proxy at `port`. */
export function proxyEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}

type Target = { ok: true; address: string; family: number } | { ok: false; status: number; reason: string };

export class EgressProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket | Duplex>();

  private constructor(private readonly options: EgressProxyOptions) {
    this.#server = createServer((req, res) => void this.#forward(req, res));
    this.#server.on(
      'connect',
      (req: IncomingMessage, client: Duplex, head: Buffer) => void this.#tunnel(req, client, head),
    );
    this.#server.maxConnections = options.maxConnections ?? 64;
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  static async listen(socketPath: string, options: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = new EgressProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(socketPath, () => resolve());
    });
    // The sandbox's user is not the node's; nobody else can reach the run directory.
    await chmod(socketPath, 0o666);
    return proxy;
  }

  /** Where `host:port` may be reached, per the policy on every address the name resolves to. */
  async #resolve(host: string, port: number): Promise<Target> {
    const name = host.replace(/^\[|\]$/g, '');
    let addresses: { address: string; family: number }[];
    try {
      addresses = isIP(name) ? [{ address: name, family: isIP(name) }] : await lookup(name, { all: true });
    } catch {
      return { ok: false, status: 502, reason: `cannot resolve ${name}` };
    }
    // Like isolates' fetch: one denied address denies the name (no DNS games between check and use).
    for (const a of addresses) {
      const why = this.options.policy.check(name, port, a.address);
      if (why)
        return {
          ok: false,
          status: 403,
          reason: `egress to ${name}:${port} (${a.address}) is not allowed: ${why}`,
        };
    }
    const first = addresses[0];
    return first ? { ok: true, ...first } : { ok: false, status: 502, reason: `cannot resolve ${name}` };
  }

  async #tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.#sockets.add(client);
    client.once('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(req.url ?? '');
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65_535)
      return void client.end('HTTP/1.1 400 Bad Request\r\n\r\nCONNECT host:port\n');
    const target = await this.#resolve(m[1] ?? '', port);
    if (!target.ok)
      return void client.end(
        `HTTP/1.1 ${target.status} Refused\r\ncontent-type: text/plain\r\n\r\n${target.reason}\n`,
      );
    const upstream = connect({ host: target.address, port, family: target.family });
    upstream.setTimeout(this.options.timeoutMs, () => upstream.destroy(new Error('timeout')));
    this.#sockets.add(upstream);
    upstream.once('close', () => this.#sockets.delete(upstream));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', (err) => {
      if (upstream.connecting)
        client.end(`HTTP/1.1 ${err.message === 'timeout' ? 504 : 502} Bad Gateway\r\n\r\n`);
      else client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      // Caught just below and answered with a 400; never leaves this method.
      if (url.protocol !== 'http:') throw new Error('scheme');
    } catch {
      return void res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('a proxy request: GET http://host/path (HTTPS goes through CONNECT)\n');
    }
    const port = Number(url.port || 80);
    const target = await this.#resolve(url.hostname, port);
    if (!target.ok)
      return void res.writeHead(target.status, { 'content-type': 'text/plain' }).end(`${target.reason}\n`);
    const headers = endToEndHeaders(req.headers);
    headers.host = url.host;
    const upstream = httpRequest(
      {
        host: target.address,
        family: target.family,
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        timeout: this.options.timeoutMs,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, endToEndHeaders(up.headers));
        up.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
    upstream.once('error', (err) => {
      if (!res.headersSent)
        res.writeHead(err.message === 'timeout' ? 504 : 502, { 'content-type': 'text/plain' });
      res.end();
    });
    req.pipe(upstream);
  }

  /** Ends every tunnel and connection. Idempotent. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
