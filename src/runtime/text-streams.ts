/**
 * TextEncoderStream and TextDecoderStream (WHATWG Encoding): TransformStreams between strings and
 * UTF-8 bytes. The encoder carries a high surrogate that ends one chunk over to the next; the
 * decoder is a streaming TextDecoder (encoding.ts), so a sequence split across chunks decodes whole.
 */
import { TextDecoder, utf8Encode, type BufferSource, type TextDecoderOptions } from './encoding.js';
import { streamsModule, type ReadableStream } from './streams.js';
import type * as Ponyfill from 'web-streams-polyfill';

type TransformStream<I, O> = Ponyfill.TransformStream<I, O>;

const REPLACEMENT_BYTES = [0xef, 0xbf, 0xbd];

export class TextEncoderStream {
  readonly #transform: TransformStream<string, Uint8Array>;

  constructor() {
    let pending: number | null = null;
    this.#transform = new (streamsModule().TransformStream)<string, Uint8Array>({
      transform(chunk, controller) {
        let text = String(chunk);
        if (pending !== null) {
          text = String.fromCharCode(pending) + text;
          pending = null;
        }
        const last = text.length > 0 ? text.charCodeAt(text.length - 1) : 0;
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = last;
          text = text.slice(0, -1);
        }
        if (text !== '') controller.enqueue(utf8Encode(text));
      },
      flush(controller) {
        // A high surrogate at the very end has no partner: it encodes as U+FFFD.
        if (pending !== null) controller.enqueue(new Uint8Array(REPLACEMENT_BYTES));
      },
    });
  }

  get encoding(): string {
    return 'utf-8';
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#transform.readable;
  }

  get writable(): Ponyfill.WritableStream<string> {
    return this.#transform.writable;
  }

  get [Symbol.toStringTag](): string {
    return 'TextEncoderStream';
  }
}

export class TextDecoderStream {
  readonly #decoder: TextDecoder;
  readonly #transform: TransformStream<BufferSource, string>;

  constructor(label: string = 'utf-8', options: TextDecoderOptions = {}) {
    const decoder = new TextDecoder(label, options);
    this.#decoder = decoder;
    this.#transform = new (streamsModule().TransformStream)<BufferSource, string>({
      transform(chunk, controller) {
        const shared = typeof SharedArrayBuffer === 'function' && chunk instanceof SharedArrayBuffer;
        if (!(chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk) || shared))
          throw new TypeError('TextDecoderStream: chunks must be ArrayBuffer or ArrayBufferView');
        const text = decoder.decode(chunk, { stream: true });
        if (text !== '') controller.enqueue(text);
      },
      flush(controller) {
        const text = decoder.decode();
        if (text !== '') controller.enqueue(text);
      },
    });
  }

  get encoding(): string {
    return this.#decoder.encoding;
  }

  get fatal(): boolean {
    return this.#decoder.fatal;
  }

  get ignoreBOM(): boolean {
    return this.#decoder.ignoreBOM;
  }

  get readable(): ReadableStream<string> {
    return this.#transform.readable;
  }

  get writable(): Ponyfill.WritableStream<BufferSource> {
    return this.#transform.writable;
  }

  get [Symbol.toStringTag](): string {
    return 'TextDecoderStream';
  }
}
