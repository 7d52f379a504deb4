/**
 * Blob and File (W3C File API): immutable bytes with a MIME type, and a File's name and
 * lastModified. The bytes are held in memory as one array that no caller ever gets to write to;
 * bodies share it instead of copying (see body-init.ts), and `stream()` copies on demand.
 */
import { toBytes, utf8Decode, utf8Encode } from './encoding.js';
import { INSPECT, type Inspect } from './inspect.js';
import { streamFromBytes, type ReadableStream } from './streams.js';

export type BlobPart = ArrayBuffer | ArrayBufferView | Blob | string;

export interface BlobPropertyBag {
  type?: string;
  endings?: 'transparent' | 'native';
}

export interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: number;
}

let bytesOf: (blob: Blob) => Uint8Array;
let setBytes: (blob: Blob, bytes: Uint8Array) => void;

/** The blob's bytes, shared: callers must not write to them. */
export const blobBytes = (blob: Blob): Uint8Array => {
  return bytesOf(blob);
};

/** A type of printable ASCII is lowercased; anything else makes the type empty (File API §3.1). */
const normalizeType = (type: unknown): string => {
  const s = type === undefined ? '' : String(type);
  return /^[\x20-\x7e]*$/.test(s) ? s.toLowerCase() : '';
};

const partsToBytes = (parts: unknown, endings: string, what: string): Uint8Array => {
  if (parts === undefined) return new Uint8Array(0);
  if (
    parts === null ||
    typeof parts !== 'object' ||
    typeof (parts as Iterable<unknown>)[Symbol.iterator] !== 'function'
  )
    throw new TypeError(`${what}: the blob parts must be a sequence`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const part of parts as Iterable<unknown>) {
    let bytes: Uint8Array;
    if (part instanceof Blob) bytes = bytesOf(part);
    else if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) bytes = toBytes(part, what);
    else {
      let text = String(part);
      // "native" line endings are LF here: the platform is never Windows.
      if (endings === 'native') text = text.replace(/\r\n?/g, '\n');
      bytes = utf8Encode(text);
    }
    chunks.push(bytes);
    size += bytes.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
};

const endingsOf = (options: BlobPropertyBag | undefined, what: string): string => {
  const endings = options?.endings === undefined ? 'transparent' : String(options.endings);
  if (endings !== 'transparent' && endings !== 'native')
    throw new TypeError(`${what}: endings must be "transparent" or "native"`);
  return endings;
};

/** Clamps a relative slice index as Blob.slice and Array.prototype.slice do. */
const relative = (index: number | undefined, size: number, fallback: number): number => {
  if (index === undefined) return fallback;
  const n = Math.trunc(Number(index)) || 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
};

export class Blob {
  #bytes: Uint8Array;
  readonly #type: string;

  static {
    bytesOf = (blob) => blob.#bytes;
    setBytes = (blob, bytes) => {
      blob.#bytes = bytes;
    };
  }

  constructor(parts?: Iterable<BlobPart>, options?: BlobPropertyBag) {
    if (options !== undefined && options !== null && typeof options !== 'object')
      throw new TypeError('Blob: options must be an object');
    this.#bytes = partsToBytes(parts, endingsOf(options ?? undefined, 'Blob'), 'Blob');
    this.#type = normalizeType(options?.type);
  }

  get size(): number {
    return this.#bytes.byteLength;
  }

  get type(): string {
    return this.#type;
  }

  slice(start?: number, end?: number, contentType?: string): Blob {
    const size = this.#bytes.byteLength;
    const from = relative(start, size, 0);
    const to = Math.max(relative(end, size, size), from);
    const blob = new Blob([], { type: contentType });
    // A view, not a copy: the bytes are immutable.
    setBytes(blob, this.#bytes.subarray(from, to));
    return blob;
  }

  async text(): Promise<string> {
    return utf8Decode(this.#bytes);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes.slice().buffer;
  }

  async bytes(): Promise<Uint8Array> {
    return this.#bytes.slice();
  }

  stream(): ReadableStream<Uint8Array> {
    return streamFromBytes(this.#bytes);
  }

  get [Symbol.toStringTag](): string {
    return 'Blob';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    return `${this[Symbol.toStringTag]} ${inspect(this.#fields())}`;
  }

  #fields(): Record<string, unknown> {
    const fields: Record<string, unknown> = { size: this.size, type: this.#type };
    if (this instanceof File) Object.assign(fields, { name: this.name, lastModified: this.lastModified });
    return fields;
  }
}

export class File extends Blob {
  readonly #name: string;
  readonly #lastModified: number;

  constructor(bits: Iterable<BlobPart>, name: string, options?: FilePropertyBag) {
    if (arguments.length < 2) throw new TypeError('File: 2 arguments required (bits, name)');
    super(bits, options);
    this.#name = String(name);
    const lastModified = options?.lastModified;
    // WebIDL long long: out-of-range and NaN values wrap or become 0 rather than throwing.
    this.#lastModified = lastModified === undefined ? Date.now() : Math.trunc(Number(lastModified)) || 0;
  }

  get name(): string {
    return this.#name;
  }

  get lastModified(): number {
    return this.#lastModified;
  }

  get webkitRelativePath(): string {
    return '';
  }

  override get [Symbol.toStringTag](): string {
    return 'File';
  }
}
