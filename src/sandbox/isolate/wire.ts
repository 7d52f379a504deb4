/**
 * Framing for the node <-> isolate host channel, a dedicated pipe (fd 3 in the host). Node's
 * built-in IPC with `serialization: 'advanced'` cost ~65 µs per round trip here and JSON IPC
 * would base64 bodies; this is a length-prefixed frame of a JSON header plus the one binary body
 * a message may carry (a request or response body), copied once.
 *
 *   u32 frame length (after this field) | u32 header length | header (JSON, UTF-8) | body bytes
 */
import type { Socket } from 'node:net';
import type { FromHost, ToHost } from './protocol.js';

type Message = ToHost | FromHost;

/** Where a message keeps its body; moved out of the JSON and back. */
function takeBody(msg: Message): Uint8Array | null {
  if (msg.t === 'invoke' && msg.input.type === 'fetch' && msg.input.request.body) {
    const body = msg.input.request.body;
    msg.input.request.body = null;
    return body;
  }
  if (msg.t === 'invoked' && msg.out.ok && msg.out.result.type === 'fetch') {
    const body = msg.out.result.response.body;
    msg.out.result.response.body = EMPTY;
    return body;
  }
  return null;
}

function putBody(msg: Message, body: Uint8Array): void {
  if (msg.t === 'invoke' && msg.input.type === 'fetch') msg.input.request.body = body;
  else if (msg.t === 'invoked' && msg.out.ok && msg.out.result.type === 'fetch')
    msg.out.result.response.body = body;
}

const EMPTY = new Uint8Array(0);

export function encode(msg: Message): Buffer {
  const body = takeBody(msg);
  const header = Buffer.from(JSON.stringify(msg));
  putBody(msg, body ?? EMPTY);
  const bodyLen = body?.byteLength ?? 0;
  const frame = Buffer.allocUnsafe(8 + header.byteLength + bodyLen);
  frame.writeUInt32LE(4 + header.byteLength + bodyLen, 0);
  frame.writeUInt32LE(header.byteLength, 4);
  header.copy(frame, 8);
  if (body) frame.set(body, 8 + header.byteLength);
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
      const bodyStart = headerStart + headerLen;
      const end = offset + 4 + len;
      const msg = JSON.parse(pending.toString('utf8', headerStart, bodyStart)) as T;
      if (end > bodyStart) putBody(msg, new Uint8Array(pending.subarray(bodyStart, end)));
      onMessage(msg);
      offset = end;
    }
    pending = offset === pending.byteLength ? Buffer.alloc(0) : pending.subarray(offset);
  });
}
