/**
 * The fetch standard's "extract a body": what `new Request(url, { body })` and `new Response(body)`
 * accept, turned into known bytes (strings, buffers, URLSearchParams, Blob, FormData) or a stream,
 * plus the Content-Type the body implies. Known bytes never touch the streams library: that is the
 * fast path that keeps a hello-world response from loading it.
 */
import type { Blob } from './blob.js';
import { toBytes, utf8Encode } from './encoding.js';
import type { FormData } from './form-data.js';
import { blobModule, formDataModule, multipartModule } from './lazy.js';
import { isReadableStream, isUsable, type ReadableStream } from './streams.js';
import { isURLSearchParams, type URLSearchParams } from './url.js';

export type BodyInit =
  string | ArrayBuffer | ArrayBufferView | URLSearchParams | Blob | FormData | ReadableStream;

/** A body's content: known bytes (shared, never written to), or a stream. */
export type BodySource = { bytes: Uint8Array; stream: null } | { bytes: null; stream: ReadableStream };

export interface ExtractedBody {
  source: BodySource;
  contentType: string | null;
}

function known(bytes: Uint8Array, contentType: string | null): ExtractedBody {
  return { source: { bytes, stream: null }, contentType };
}

/** Returns null for a null body; copies buffers, so later writes to them do not change the body. */
export function extractBody(init: unknown, what: string): ExtractedBody | null {
  if (init === null || init === undefined) return null;
  if (typeof init === 'string') return known(utf8Encode(init), 'text/plain;charset=UTF-8');
  if (init instanceof ArrayBuffer || ArrayBuffer.isView(init))
    return known(toBytes(init, what).slice(), null);
  if (typeof SharedArrayBuffer === 'function' && init instanceof SharedArrayBuffer)
    return known(new Uint8Array(init).slice(), null);
  if (isURLSearchParams(init))
    return known(utf8Encode(init.toString()), 'application/x-www-form-urlencoded;charset=UTF-8');
  if (isReadableStream(init)) {
    if (!isUsable(init))
      throw new TypeError(`${what}: the body ReadableStream is locked or has already been read`);
    return { source: { bytes: null, stream: init }, contentType: null };
  }
  if (typeof init === 'object') {
    // Loads the Blob and FormData classes (lazy.ts), which only an object body can need.
    const { Blob, blobBytes } = blobModule();
    // Blobs are immutable, so their bytes are shared rather than copied.
    if (init instanceof Blob) return known(blobBytes(init), init.type === '' ? null : init.type);
    if (init instanceof formDataModule().FormData) {
      const { bytes, contentType } = multipartModule().serializeMultipart(init);
      return known(bytes, contentType);
    }
  }
  // WebIDL turns anything else into the USVString member of the BodyInit union.
  return known(utf8Encode(String(init)), 'text/plain;charset=UTF-8');
}
