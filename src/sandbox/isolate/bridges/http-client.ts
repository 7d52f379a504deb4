/**
 * One HTTP exchange of a `fetch` (one hop of its redirect chain), with node:http/https rather than
 * the global fetch, so the policy decides where every connection goes: an IP literal is checked
 * as is; a name is resolved by a custom `lookup` that checks every address it resolves to, fails
 * if any is denied, and hands only those checked addresses to the socket. There is no second DNS
 * query to race, so DNS rebinding cannot turn an allowed name into a denied address.
 */
import dns from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { HOP_BY_HOP_HEADERS, type EgressPolicy } from '../../egress/index.js';

export interface Hop {
  url: URL;
  method: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

export interface HopResponse {
  status: number;
  statusText: string;
  /** As received: one entry per header line, so each Set-Cookie stays separate. */
  headers: [string, string][];
  message: IncomingMessage;
}

export interface HopOptions {
  policy: EgressPolicy;
  /** Keep-alive agents of the call (a connection is reused only within one call, one policy). */
  agents: { http: http.Agent; https: https.Agent };
  signal: AbortSignal;
}

/**
 * Request headers the host sets itself; a user's value would confuse framing or routing: the
 * hop-by-hop ones (the request goes out on the host's connection), and the host's own.
 */
const HOST_SET = new Set([...HOP_BY_HOP_HEADERS, 'host', 'content-length', 'expect']);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

class EgressDenied extends Error {
  constructor(
    readonly reason: string,
    readonly address: string,
  ) {
    super(reason);
  }
}

function deniedError(url: URL, reason: string): TypeError {
  return new TypeError(`fetch to ${url.href} denied by egress policy: ${reason}`);
}

/** Resolves like dns.lookup, but only to addresses the policy allows for this host and port. */
function guardedLookup(policy: EgressPolicy, host: string, port: number): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(
      hostname,
      { all: true, family: options.family ?? 0, hints: options.hints ?? 0 },
      (err, found) => {
        const reply = callback;
        if (err) return reply(err, '');
        for (const { address } of found) {
          const reason = policy.check(host, port, address);
          if (reason !== null) return reply(new EgressDenied(reason, address), '');
        }
        const first = found[0];
        if (!first)
          return reply(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        if (options.all) reply(null, found);
        else reply(null, first.address, first.family);
      },
    );
  };
}

/** Sends one request and resolves with the response head; read the body with `readBody`. */
export function sendHop(hop: Hop, options: HopOptions): Promise<HopResponse> {
  const { url } = hop;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'https:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  if (isIP(host) !== 0) {
    const reason = options.policy.check(host, port, host);
    if (reason !== null) return Promise.reject(deniedError(url, reason));
  }
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of hop.headers) {
    const key = name.toLowerCase();
    if (HOST_SET.has(key)) continue;
    const prev = headers[key];
    headers[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  headers['user-agent'] ??= 'Procyon';
  const body = hop.body;
  if (body !== null) headers['content-length'] = String(body.byteLength);
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal.aborted) return reject(signal.reason as Error);
    const req = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: host,
      port,
      path: `${url.pathname}${url.search}`,
      method: hop.method,
      headers,
      agent: secure ? options.agents.https : options.agents.http,
      // Node does not call lookup for IP literals; those were checked above.
      lookup: guardedLookup(options.policy, host, port),
    });
    const onAbort = (): void => {
      req.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('response', (message) => {
      signal.removeEventListener('abort', onAbort);
      const raw = message.rawHeaders;
      const pairs: [string, string][] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
      resolve({
        status: message.statusCode ?? 0,
        statusText: message.statusMessage ?? '',
        headers: pairs,
        message,
      });
    });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err instanceof EgressDenied) {
        const resolved = err.address === host ? '' : ` (${host} resolves to ${err.address})`;
        reject(deniedError(url, `${err.reason}${resolved}`));
      } else reject(new TypeError(`fetch to ${url.href} failed: ${err.message}`));
    });
    req.end(body === null ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}

/**
 * Reads (and decompresses) a response body of at most `maxBytes`; null for responses that have
 * none. Over the cap the connection is dropped and a TypeError names the limit.
 */
export async function readBody(
  res: HopResponse,
  method: string,
  url: URL,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array | null> {
  const { message } = res;
  if (method === 'HEAD' || NULL_BODY.has(res.status)) {
    message.destroy();
    return null;
  }
  const decoder = decoderFor(message.headers['content-encoding']);
  const source: Readable = decoder ? pipeline(message, decoder, () => undefined) : message;
  const onAbort = (): void => {
    source.destroy(signal.reason as Error);
    message.destroy();
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += (chunk as Buffer).byteLength;
      if (size > maxBytes) {
        message.destroy();
        source.destroy();
        throw new TypeError(`fetch to ${url.href}: the response body is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason as Error;
    if (err instanceof TypeError) throw err;
    throw new TypeError(`fetch to ${url.href} failed while reading the body: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  // A fresh, exact-size buffer: Buffers share pooled memory, and a copy would take all of it.
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Decoders for the codings a fetch decodes (as browsers do); other codings stay as they are. */
function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return null;
  }
}
