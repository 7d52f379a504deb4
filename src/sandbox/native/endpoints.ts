/**
 * Named endpoints (docs/native-driver.md): a long-running proc with a port is published under its
 * name in its namespace. Every sandbox of that namespace reaches it through its own "procs proxy"
 * at 127.0.0.1:9003, an HTTP proxy the node serves on a socket in the sandbox's run directory:
 * `CONNECT <name>:<any port>` opens a byte stream to the proc, and an absolute-form request
 * (`curl -x http://127.0.0.1:9003 http://<name>/path`) is forwarded to it. The proxy only knows
 * the sandbox's own namespace, so a proc is unreachable from any other.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import { chmod, readFile, rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { ProcyonError } from '../../errors.js';
import { endToEndHeaders } from '../egress/index.js';

/** Inside a sandbox: where its procs proxy answers. */
export const PROCS_PORT = 9003;

export class Endpoints {
  /** `ns` → name → the socket the proc's port is reached through. */
  readonly #published = new Map<string, Map<string, string>>();
  readonly #servers = new Set<Server>();

  publish(namespace: string, name: string, socket: string): void {
    let names = this.#published.get(namespace);
    if (!names) this.#published.set(namespace, (names = new Map<string, string>()));
    names.set(name, socket);
  }

  unpublish(namespace: string, name: string): void {
    this.#published.get(namespace)?.delete(name);
  }

  lookup(namespace: string, name: string): string | undefined {
    return this.#published.get(namespace)?.get(name);
  }

  /**
   * Resolves once a process of the sandbox whose main process is `pid` listens on TCP `port` (read
   * from /proc, in the sandbox's network namespace); rejects if `gone` settles first.
   */
  async waitListening(pid: number, port: number, gone: Promise<unknown>, timeoutMs = 30_000): Promise<void> {
    let over = false;
    void gone.then(() => (over = true));
    const deadline = Date.now() + timeoutMs;
    while (!over && Date.now() < deadline) {
      if (await listening(pid, port)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new ProcyonError(
      'PROCYON_INIT_FAILED',
      over
        ? `the proc exited before it listened on port ${port}`
        : `the proc did not listen on port ${port} within ${timeoutMs} ms`,
    );
  }

  /** Serves the procs proxy of one sandbox of `namespace` on `socket`. */
  async serveFor(socket: string, namespace: string): Promise<void> {
    const server = createServer((req, res) => this.#forward(namespace, req, res));
    server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) =>
      this.#tunnel(namespace, req, client, head),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    // The sandbox's user is not the node's: it may connect, nobody else is in its run directory.
    await chmod(socket, 0o666);
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
    server.unref();
  }

  /** Stops the procs proxy listening on `socket` (its sandbox is gone). */
  async stopServing(socket: string): Promise<void> {
    for (const server of this.#servers) {
      if (server.address() === socket) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
    await rm(socket, { force: true });
  }

  #target(namespace: string, host: string | undefined): string | undefined {
    const name = (host ?? '').replace(/:\d*$/, '');
    return this.lookup(namespace, name);
  }

  #tunnel(namespace: string, req: IncomingMessage, client: Duplex, head: Buffer): void {
    const target = this.#target(namespace, req.url);
    if (!target) {
      client.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\nno proc "${req.url ?? ''}" in this namespace\n`,
      );
      return;
    }
    const upstream = connect(target);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const fail = (): void => {
      if (upstream.connecting) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      else client.destroy();
      upstream.destroy();
    };
    upstream.once('error', fail);
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }

  #forward(namespace: string, req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('use a proxy request: http://<proc name>/path\n');
      return;
    }
    const target = this.lookup(namespace, url.hostname);
    if (!target) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`no proc "${url.hostname}" in this namespace\n`);
      return;
    }
    const headers = endToEndHeaders(req.headers);
    const upstream = httpRequest(
      { socketPath: target, method: req.method, path: `${url.pathname}${url.search}`, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, endToEndHeaders(up.headers));
        up.pipe(res);
      },
    );
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end();
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#servers].map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  }
}

/**
 * Whether TCP `port` is in LISTEN state in the network namespace of `pid`'s first child (bwrap's
 * process inside the namespaces; in unsafe mode, the program itself shares the node's).
 */
async function listening(pid: number, port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/);
  const inner = children[0] || String(pid);
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${inner}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex.trim()) && cols[3] === '0A') return true;
    }
  }
  return false;
}
