/** Writing a function's response (plain data from the sandbox) to a Fastify reply. */
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { HOP_BY_HOP_HEADERS } from '../sandbox/egress/index.js';
import type { HttpResponseData } from '../sandbox/index.js';

/**
 * Framing headers are the server's business, not the function's: the hop-by-hop ones, and
 * `content-length`, since the body is framed anew (and may be streamed).
 */
function dropped(name: string): boolean {
  return name === 'content-length' || HOP_BY_HOP_HEADERS.has(name);
}

export function sendResponse(
  reply: FastifyReply,
  res: HttpResponseData,
  activationId: string,
  body?: AsyncIterable<Uint8Array>,
): FastifyReply {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of res.headers) {
    const key = name.toLowerCase();
    if (dropped(key)) continue;
    const list = grouped.get(key);
    if (list) list.push(value);
    else grouped.set(key, [value]);
  }
  for (const [name, values] of grouped) {
    void reply.header(name, name === 'set-cookie' ? values : values.join(', '));
  }
  void reply.header('x-procyon-activation-id', activationId);
  void reply.code(res.status);
  // A streamed body goes out chunk by chunk as the function produces it; if the client leaves,
  // destroying the stream ends the iterator, which cancels the function's stream. If the
  // function's stream fails, the iterator throws and Fastify destroys the socket once headers
  // are out, so the client sees an aborted body rather than a clean, truncated one.
  if (body) return reply.send(Readable.from(body, { objectMode: false }));
  return reply.send(Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength));
}
