/**
 * The Body mixin shared by Request and Response: turning a BodyInit into bytes plus a default
 * Content-Type ("extract a body"), and reading it back once with text(), json(), arrayBuffer() or
 * bytes(). Bodies are held as one immutable byte array: there is no ReadableStream in the isolate
 * yet, so no `body` stream property either; the full web runtime will add streams here.
 */
import { toBytes, utf8Decode, utf8Encode } from './encoding.js';
import { isURLSearchParams, type URLSearchParams } from './url.js';

export type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams;

export interface ExtractedBody {
  bytes: Uint8Array;
  contentType: string | null;
}

/** Returns null for a null body; copies buffers, so later writes to them do not change the body. */
export function extractBody(init: unknown): ExtractedBody | null {
  if (init === null || init === undefined) return null;
  if (typeof init === 'string') return { bytes: utf8Encode(init), contentType: 'text/plain;charset=UTF-8' };
  if (isURLSearchParams(init)) {
    return {
      bytes: utf8Encode(init.toString()),
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    };
  }
  if (init instanceof ArrayBuffer || ArrayBuffer.isView(init))
    return { bytes: toBytes(init, 'body').slice(), contentType: null };
  if (typeof SharedArrayBuffer === 'function' && init instanceof SharedArrayBuffer) {
    return { bytes: new Uint8Array(init).slice(), contentType: null };
  }
  // WebIDL turns anything else into the USVString member of the BodyInit union.
  return { bytes: utf8Encode(String(init)), contentType: 'text/plain;charset=UTF-8' };
}

let readSource: (body: Body) => Uint8Array | null;
let takeSource: (body: Body, what: string) => Uint8Array | null;

/** The body bytes without consuming them (for clone); null for a null body. */
export function peekBody(body: Body): Uint8Array | null {
  return readSource(body);
}

/**
 * Consumes the body and returns its bytes (shared, do not write to them); null for a null body.
 * TypeError if it was already read.
 */
export function consumeBody(body: Body, what: string): Uint8Array | null {
  return takeSource(body, what);
}

export abstract class Body {
  readonly #source: Uint8Array | null;
  #used = false;

  static {
    readSource = (body) => body.#source;
    takeSource = (body, what) => body.#take(what);
  }

  protected constructor(source: Uint8Array | null) {
    this.#source = source;
  }

  /** True once a non-null body has been read (a null body can be read any number of times). */
  get bodyUsed(): boolean {
    return this.#source !== null && this.#used;
  }

  #take(what: string): Uint8Array | null {
    if (this.#source === null) return null;
    if (this.#used) throw new TypeError(`${what}: body has already been used`);
    this.#used = true;
    return this.#source;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take(`${this.constructor.name}.arrayBuffer`);
    return bytes === null ? new ArrayBuffer(0) : (bytes.slice().buffer as ArrayBuffer);
  }

  async bytes(): Promise<Uint8Array> {
    const bytes = this.#take(`${this.constructor.name}.bytes`);
    return bytes === null ? new Uint8Array(0) : bytes.slice();
  }

  async text(): Promise<string> {
    const bytes = this.#take(`${this.constructor.name}.text`);
    return bytes === null ? '' : utf8Decode(bytes);
  }

  async json(): Promise<unknown> {
    const bytes = this.#take(`${this.constructor.name}.json`);
    return JSON.parse(bytes === null ? '' : utf8Decode(bytes));
  }
}
