/**
 * TextEncoder and TextDecoder (WHATWG Encoding, UTF-8 only), plus the UTF-8 helpers the rest of
 * the prelude uses for bodies and log byte counts. A bare V8 isolate has neither class.
 *
 * The decoder is the spec's UTF-8 decoder state machine, so invalid input yields the same U+FFFD
 * replacements as browsers and Node (one per maximal invalid subpart), and `{ stream: true }`
 * carries a split sequence over to the next call.
 */

export type BufferSource = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

const REPLACEMENT = 0xfffd;
/** Code units per String.fromCharCode call: well under V8's argument limit. */
const CHUNK = 0x2000;

/** UTF-8 length of a string, with lone surrogates counted as U+FFFD (3 bytes). */
export function utf8ByteLength(input: string): number {
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < input.length && isLowSurrogate(input.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function utf8Encode(input: string): Uint8Array {
  const out = new Uint8Array(utf8ByteLength(input));
  encodeUtf8Into(input, out);
  return out;
}

/** Encodes as many whole code points as fit; returns UTF-16 units read and bytes written. */
function encodeUtf8Into(input: string, out: Uint8Array): { read: number; written: number } {
  let pos = 0;
  let i = 0;
  for (; i < input.length; i++) {
    let c = input.charCodeAt(i);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < input.length ? input.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        units = 2;
      } else c = REPLACEMENT;
    }
    if (c < 0x80) {
      if (pos + 1 > out.length) break;
      out[pos++] = c;
    } else if (c < 0x800) {
      if (pos + 2 > out.length) break;
      out[pos++] = 0xc0 | (c >> 6);
      out[pos++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      if (pos + 3 > out.length) break;
      out[pos++] = 0xe0 | (c >> 12);
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    } else {
      if (pos + 4 > out.length) break;
      out[pos++] = 0xf0 | (c >> 18);
      out[pos++] = 0x80 | ((c >> 12) & 0x3f);
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    }
    i += units - 1;
  }
  return { read: i, written: pos };
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Views any BufferSource as bytes without copying; TypeError for anything else. */
export function toBytes(input: unknown, what: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || isSharedArrayBuffer(input)) return new Uint8Array(input);
  throw new TypeError(`${what}: expected an ArrayBuffer or ArrayBufferView`);
}

function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer;
}

/** The spec's UTF-8 decoder state, kept between streaming calls. */
class Utf8State {
  needed = 0;
  seen = 0;
  codePoint = 0;
  lower = 0x80;
  upper = 0xbf;

  reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.codePoint = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}

/** Collects UTF-16 code units and joins them in chunks. */
class StringBuilder {
  parts: string[] = [];
  units: number[] = [];

  push(cp: number): void {
    if (cp > 0xffff) {
      cp -= 0x10000;
      this.units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else this.units.push(cp);
    if (this.units.length >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.units.length === 0) return;
    this.parts.push(String.fromCharCode(...this.units));
    this.units = [];
  }

  toString(): string {
    this.flush();
    return this.parts.join('');
  }
}

const INVALID = 'The encoded data was not valid for encoding utf-8';

/**
 * Runs the decoder over `bytes`. `error()` returns true to go on with U+FFFD (replacement mode)
 * or throws (fatal mode). At the end of a non-streaming call an unfinished sequence is an error.
 */
function decodeUtf8(
  bytes: Uint8Array,
  state: Utf8State,
  flush: boolean,
  fatal: boolean,
  emit: (cp: number) => void,
): void {
  const error = (): void => {
    if (fatal) {
      state.reset();
      throw new TypeError(INVALID);
    }
    emit(REPLACEMENT);
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (state.needed === 0) {
      if (b <= 0x7f) emit(b);
      else if (b >= 0xc2 && b <= 0xdf) {
        state.needed = 1;
        state.codePoint = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) state.lower = 0xa0;
        if (b === 0xed) state.upper = 0x9f;
        state.needed = 2;
        state.codePoint = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) state.lower = 0x90;
        if (b === 0xf4) state.upper = 0x8f;
        state.needed = 3;
        state.codePoint = b & 0x07;
      } else error();
      continue;
    }
    if (b < state.lower || b > state.upper) {
      // The byte ends the broken sequence and is then read again on its own.
      state.reset();
      error();
      i--;
      continue;
    }
    state.lower = 0x80;
    state.upper = 0xbf;
    state.codePoint = (state.codePoint << 6) | (b & 0x3f);
    if (++state.seen === state.needed) {
      const cp = state.codePoint;
      state.reset();
      emit(cp);
    }
  }
  if (flush && state.needed !== 0) {
    state.reset();
    error();
  }
}

/** Decodes a whole buffer with replacement and BOM stripping, as Body.text() does. */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

const UTF8_LABELS = new Set([
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'utf-8',
  'utf8',
  'x-unicode20utf8',
]);

export interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

export class TextDecoder {
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  #state = new Utf8State();
  /** Whether the first code point of the current stream has been handled (BOM check done). */
  #started = false;

  constructor(label: string = 'utf-8', options: TextDecoderOptions = {}) {
    const name = String(label)
      .replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '')
      .toLowerCase();
    if (!UTF8_LABELS.has(name)) throw new RangeError(`The "${String(label)}" encoding is not supported`);
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding(): string {
    return 'utf-8';
  }

  get fatal(): boolean {
    return this.#fatal;
  }

  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: BufferSource, options: { stream?: boolean } = {}): string {
    const bytes = input === undefined ? new Uint8Array(0) : toBytes(input, 'TextDecoder.decode');
    const stream = Boolean(options?.stream);
    const out = new StringBuilder();
    try {
      decodeUtf8(bytes, this.#state, !stream, this.#fatal, (cp) => {
        if (!this.#started) {
          this.#started = true;
          if (cp === 0xfeff && !this.#ignoreBOM) return;
        }
        out.push(cp);
      });
    } catch (err) {
      this.#started = false;
      throw err;
    }
    if (!stream) this.#started = false;
    return out.toString();
  }

  get [Symbol.toStringTag](): string {
    return 'TextDecoder';
  }
}

export class TextEncoder {
  get encoding(): string {
    return 'utf-8';
  }

  encode(input: string = ''): Uint8Array {
    return utf8Encode(String(input));
  }

  encodeInto(source: string, destination: Uint8Array): { read: number; written: number } {
    if (!(destination instanceof Uint8Array))
      throw new TypeError('TextEncoder.encodeInto: destination must be a Uint8Array');
    return encodeUtf8Into(String(source), destination);
  }

  get [Symbol.toStringTag](): string {
    return 'TextEncoder';
  }
}
