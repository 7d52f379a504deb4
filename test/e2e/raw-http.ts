/**
 * Raw HTTP/1.1 over node:net, for requests fetch cannot send (TRACE, CONNECT, duplicate
 * Content-Length, a NUL in a header, bodies dripped a byte at a time) and for reading exactly what
 * the server wrote before it closed the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received: () => string;
  /** Settles when the connection is closed, by either side. */
  closed: Promise<void>;
}

/** Opens a connection to `url`'s port, from `localAddress` when given (another loopback address). */
export async function openRaw(url: string, localAddress?: string): Promise<RawConnection> {
  const socket = connect({
    port: Number(new URL(url).port),
    host: '127.0.0.1',
    ...(localAddress ? { localAddress } : {}),
  });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  // A reset after the server's answer is expected (it closes with our bytes unread).
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed };
}

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown;
}

/** Parses the first complete response in `text` (error responses always have a Content-Length). */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  if (!status) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? 0);
  if (text.length < end + 4 + length) return undefined;
  const raw = text.slice(end + 4, end + 4 + length);
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON: keep the text
  }
  return { status: Number(status[1]), headers, body };
}

/**
 * Sends `request` as is and returns the server's answer once it is complete, or whatever came
 * before the server closed. (No half-close: Node aborts a request whose client sent FIN.)
 */
export async function rawRequest(url: string, request: string, localAddress?: string): Promise<RawResponse> {
  const conn = await openRaw(url, localAddress);
  const answered = new Promise<void>((resolve) => {
    conn.socket.on('data', () => {
      if (parseResponse(conn.received())) resolve();
    });
  });
  conn.socket.write(request);
  await Promise.race([answered, conn.closed]);
  conn.socket.destroy();
  const parsed = parseResponse(conn.received());
  if (!parsed) throw new Error(`no HTTP response, got ${JSON.stringify(conn.received())}`);
  return parsed;
}
