/**
 * What happens below Fastify, on the raw connection: requests Node's HTTP parser refuses (bad or
 * duplicate Content-Length, Content-Length with Transfer-Encoding, a NUL in a header, headers over
 * 16 KiB, the headers or request timeout), `CONNECT`, and too many connections from one address.
 * Fastify never sees these, so they are answered here, in the platform's `{error:{code,message}}`
 * shape with a coded status, and the connection is closed: after a framing error the rest of the
 * stream cannot be trusted to be a next request.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProcyonError } from '../errors.js';

/** A complete HTTP/1.1 error response, for sockets no ServerResponse will answer. */
function rawErrorResponse(error: ProcyonError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(error.toJSON());
  const lines = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes `error` unless a response has already begun on the socket, then closes it. */
function refuse(socket: Duplex, error: ProcyonError, headers?: Record<string, string>): void {
  // Node keeps the response in progress on the socket (not in its public types); bytes of ours
  // after its headers would corrupt it, so then the connection is only closed.
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !current?.headersSent) socket.write(rawErrorResponse(error, headers));
  socket.destroy();
}

/** The error a client gets for what Node's parser refused (`err.code`: llhttp's `HPE_*` or Node's). */
function clientErrorOf(err: NodeJS.ErrnoException & { reason?: unknown }): ProcyonError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new ProcyonError(
      'PROCYON_REQUEST_TIMEOUT',
      'the request headers or body did not arrive in time; the connection is closed',
    );
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return new ProcyonError(
      'PROCYON_HEADERS_TOO_LARGE',
      "the request headers are over the node's header size limit (16 KiB by default)",
    );
  const reason = typeof err.reason === 'string' ? err.reason : (err.code ?? 'unparseable');
  return new ProcyonError('PROCYON_BAD_REQUEST', `malformed HTTP request: ${reason}`);
}

/** Fastify's `clientErrorHandler`: the parser's refusals in the platform's shape. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset or an already closed socket has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  refuse(socket, clientErrorOf(err));
}

/**
 * `CONNECT` (a proxy tunnel) is never served. Node hands it to a `connect` listener and, without
 * one, drops the socket without a word; answer it instead.
 */
export function refuseConnect(server: Server): void {
  server.on('connect', (req: { method?: string }, socket: Duplex) =>
    refuse(
      socket,
      new ProcyonError('PROCYON_METHOD_NOT_ALLOWED', `${req.method ?? 'CONNECT'} is not served here`),
    ),
  );
}

/** One address, however the socket spells it (`::ffff:127.0.0.1` is 127.0.0.1). */
const clientAddress = (address: string | undefined): string =>
  (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

/**
 * At most `max` open connections per client address; the next one gets 429 and is closed. Counts
 * every connection, idle keep-alive ones included: those hold a socket and memory just the same.
 */
export function capConnectionsPerIp(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Duplex & { remoteAddress?: string }) => {
    const address = clientAddress(socket.remoteAddress);
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      refuse(
        socket,
        new ProcyonError(
          'PROCYON_TOO_MANY_CONNECTIONS',
          `this address already has ${max} connections open; reuse them or retry later`,
        ),
        { 'retry-after': '1' },
      );
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
