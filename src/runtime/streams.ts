/**
 * Web Streams: ReadableStream (default and byte streams, BYOB readers, tee, pipeTo/pipeThrough,
 * async iteration, ReadableStream.from), WritableStream, TransformStream and the queuing
 * strategies. We use the ponyfill build of web-streams-polyfill (MIT, Mattias Buelens; a port of
 * the WHATWG reference implementation that runs the Web Platform Tests, no dependencies, ~65 KB
 * minified) rather than writing the streams standard again.
 *
 * Like the URL library (url.ts) it is loaded lazily, on first use inside an isolate: its minified
 * module scope is all one-letter names, which the snapshot would corrupt (see index.ts). esbuild
 * keeps a `require()`d CommonJS module in a function that runs on the first call. Bodies built
 * from strings or bytes never load it unless user code reads `.body`.
 *
 * Also here: the helpers that Body (body.ts) and the response pump (outgoing.ts) use to make a
 * stream from known bytes and to read one to the end.
 */
import type * as Ponyfill from 'web-streams-polyfill';
import { defineLazyGlobal } from './define.js';

type StreamsModule = typeof Ponyfill;
export type ReadableStream<R = unknown> = Ponyfill.ReadableStream<R>;
export type ReadableStreamDefaultReader<R = unknown> = Ponyfill.ReadableStreamDefaultReader<R>;
export type ReadResult<R = unknown> = Ponyfill.ReadableStreamDefaultReadResult<R>;

// esbuild resolves this at build time; there is no module system in the isolate.
declare function require(id: 'web-streams-polyfill'): StreamsModule;

/** The library's internal stream state, which the spec's "disturbed" check needs. */
interface StreamInternals {
  _disturbed?: unknown;
}

let loaded: StreamsModule | null = null;

/** Streams this runtime made from known bytes, and those bytes: lets untouched bodies skip the stream. */
const KNOWN_BYTES = new WeakMap<object, Uint8Array>();

/** The stream classes, loading the library on first call (per isolate). */
export function streamsModule(): StreamsModule {
  if (loaded !== null) return loaded;
  // A require(), not an import: lazy on purpose, see the header.
  const mod = require('web-streams-polyfill');
  primeTransfer(mod);
  loaded = mod;
  return mod;
}

/**
 * The library "transfers" every chunk enqueued on a byte stream. It picks how on the first call:
 * ArrayBuffer.prototype.transfer (not in this V8), else `structuredClone(buffer, { transfer })`, else
 * keeping the buffer as it is. Our structuredClone cannot detach buffers and user code may replace
 * it, so the choice is made now, with the global hidden: chunks are kept as they are.
 */
function primeTransfer(mod: StreamsModule): void {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'structuredClone');
  const hidden = Reflect.deleteProperty(globalThis, 'structuredClone');
  try {
    new mod.ReadableStream({
      type: 'bytes',
      start(controller) {
        controller.enqueue(new Uint8Array(1));
      },
    });
  } finally {
    if (saved !== undefined && hidden) Object.defineProperty(globalThis, 'structuredClone', saved);
  }
}

/** A real ReadableStream, without loading the library: none can exist before it is loaded. */
export function isReadableStream(value: unknown): value is ReadableStream {
  return (
    loaded !== null &&
    typeof value === 'object' &&
    value !== null &&
    // The library's own brand check: the prototype alone does not make a stream.
    Object.hasOwn(value, '_readableStreamController') &&
    value instanceof loaded.ReadableStream
  );
}

/** Whether a stream has been read from or cancelled (the spec's "disturbed"). */
export function isDisturbed(stream: ReadableStream): boolean {
  return (stream as unknown as StreamInternals)._disturbed === true;
}

/** Neither locked nor disturbed: a body with this stream can still be read. */
export function isUsable(stream: ReadableStream): boolean {
  return !stream.locked && !isDisturbed(stream);
}

/** A byte stream with one chunk, a copy of `bytes` (the caller keeps its own array unchanged). */
export function streamFromBytes(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const stream = new (streamsModule().ReadableStream<Uint8Array>)({
    type: 'bytes',
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes.slice());
      controller.close();
    },
  });
  KNOWN_BYTES.set(stream, bytes);
  return stream;
}

/** The bytes a stream was made from, while nobody has touched it; null for any other stream. */
export function knownBytes(stream: ReadableStream): Uint8Array | null {
  return isUsable(stream) ? (KNOWN_BYTES.get(stream) ?? null) : null;
}

/** Locks and disturbs a stream whose content was taken some other way (its known bytes). */
export function markRead(stream: ReadableStream): void {
  stream
    .getReader()
    .read()
    .catch(() => undefined);
}

/** The chunk as bytes, or the TypeError the fetch standard asks for when it is not a Uint8Array. */
export function chunkBytes(chunk: unknown, what: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  const kind = chunk === null ? 'null' : typeof chunk === 'object' ? chunk.constructor?.name : typeof chunk;
  throw new TypeError(
    `${what}: the body stream produced ${String(kind)}, but body chunks must be Uint8Array`,
  );
}

/** Reads a usable stream to its end; rejects with the stream's error or a TypeError for bad chunks. */
export async function readAllBytes(stream: ReadableStream, what: string): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let chunk: Uint8Array;
    try {
      chunk = chunkBytes(value, what);
    } catch (err) {
      await reader.cancel(err).catch(() => undefined);
      throw err;
    }
    parts.push(chunk);
    size += chunk.byteLength;
  }
  return concatBytes(parts, size);
}

export function concatBytes(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** The streams API on the global object, each loading the library on first read. */
export function installStreamGlobals(): void {
  for (const name of [
    'ReadableStream',
    'ReadableStreamDefaultReader',
    'ReadableStreamBYOBReader',
    'ReadableStreamBYOBRequest',
    'ReadableByteStreamController',
    'ReadableStreamDefaultController',
    'WritableStream',
    'WritableStreamDefaultWriter',
    'WritableStreamDefaultController',
    'TransformStream',
    'TransformStreamDefaultController',
    'ByteLengthQueuingStrategy',
    'CountQueuingStrategy',
  ] as const) {
    defineLazyGlobal(name, streamsModule);
  }
}
