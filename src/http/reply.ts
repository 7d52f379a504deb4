/** Writing a function's response (plain data from the sandbox) to a Fastify reply. */
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { HttpResponseData } from '../sandbox/index.js';

/** Framing headers are the server's business, not the function's. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'trailer',
  'te',
]);

export function sendResponse(
  reply: FastifyReply,
  res: HttpResponseData,
  activationId: string,
  body?: AsyncIterable<Uint8Array>,
): FastifyReply {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of res.headers) {
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
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
