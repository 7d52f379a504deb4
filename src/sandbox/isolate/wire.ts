/**
 * Framing for the node <-> isolate host channel, a dedicated pipe (fd 3 in the host). Node's
 * built-in IPC with `serialization: 'advanced'` cost ~65 µs per round trip here, and JSON would
 * base64 bodies; a frame is a JSON header plus at most one binary blob, copied once:
 *
 *   u32 frame length (after this field) | u32 header length | header (JSON, UTF-8) | blob
 *
 * The blob is a request/response body or stream chunk (raw bytes), or, for `rpc` messages whose
 * arguments may hold bytes anywhere, the structured-clone serialisation (node:v8) of those.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import type { FromHost, ToHost } from './protocol.js';

type Message = ToHost | FromHost;

const EMPTY = new Uint8Array(0);

/** Moves the message's binary part out (the message is restored before `encode` returns). */
function takeBlob(msg: Message): { blob: Uint8Array | null; restore: () => void } {
  switch (msg.t) {
    case 'invoke':
      if (msg.input.type === 'fetch' && msg.input.request.body) {
        const { request } = msg.input;
        const body = request.body;
        request.body = null;
        return { blob: body, restore: () => (request.body = body) };
      }
      break;
    case 'invoked':
      if (msg.out.ok && msg.out.result.type === 'fetch') {
        const { response } = msg.out.result;
        const body = response.body;
        response.body = EMPTY;
        return { blob: body, restore: () => (response.body = body) };
      }
      break;
    case 'chunk':
      return { blob: msg.data, restore: () => undefined };
    case 'rpc': {
      const args = msg.args;
      msg.args = [];
      return { blob: serialize(args), restore: () => (msg.args = args) };
    }
    case 'rpc-result': {
      const reply = msg.reply;
      msg.reply = { ok: true, value: null };
      return { blob: serialize(reply), restore: () => (msg.reply = reply) };
    }
  }
  return { blob: null, restore: () => undefined };
}

function putBlob(msg: Message, blob: Uint8Array | null): void {
  switch (msg.t) {
    case 'invoke':
      if (msg.input.type === 'fetch' && blob) msg.input.request.body = blob;
      return;
    case 'invoked':
      if (msg.out.ok && msg.out.result.type === 'fetch') msg.out.result.response.body = blob ?? EMPTY;
      return;
    case 'chunk':
      // A chunk frame without a blob is the end of the stream.
      msg.data = blob;
      return;
    case 'rpc':
      msg.args = blob ? (deserialize(blob) as unknown[]) : [];
      return;
    case 'rpc-result':
      if (blob) msg.reply = deserialize(blob) as typeof msg.reply;
      return;
  }
}

export function encode(msg: Message): Buffer {
  const { blob, restore } = takeBlob(msg);
  const header = Buffer.from(JSON.stringify(msg));
  restore();
  const blobLen = blob?.byteLength ?? 0;
  const frame = Buffer.allocUnsafe(8 + header.byteLength + blobLen);
  frame.writeUInt32LE(4 + header.byteLength + blobLen, 0);
  frame.writeUInt32LE(header.byteLength, 4);
  header.copy(frame, 8);
  if (blob) frame.set(blob, 8 + header.byteLength);
  return frame;
}

/** Calls `onMessage` for every complete frame arriving on `socket`. */
export function readFrames<T extends Message>(socket: Socket, onMessage: (msg: T) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.byteLength - offset >= 4) {
      const len = pending.readUInt32LE(offset);
      if (pending.byteLength - offset - 4 < len) break;
      const headerLen = pending.readUInt32LE(offset + 4);
      const headerStart = offset + 8;
      const blobStart = headerStart + headerLen;
      const end = offset + 4 + len;
      const msg = JSON.parse(pending.toString('utf8', headerStart, blobStart)) as T;
      // Copied out: a view would keep the whole read buffer alive as long as the body lives.
      putBlob(msg, end > blobStart ? new Uint8Array(pending.subarray(blobStart, end)) : null);
      onMessage(msg);
      offset = end;
    }
    pending = offset === pending.byteLength ? Buffer.alloc(0) : pending.subarray(offset);
  });
}
