/**
 * The streamed response body, isolate side: when a fetch handler returns a Response whose body is
 * a real stream, dispatch answers `stream: true` and the host pulls the body with
 * `__procyon.pull(callId, maxBytes)` (contract.ts). One per call that has such a body; `settle`
 * or `end` cancels a stream the host stopped pulling. Loaded on first use (lazy.ts).
 */
import type { PullResult } from './contract.js';
import { failure, functionError } from './failures.js';
import {
  chunkBytes,
  concatBytes,
  type ReadableStream,
  type ReadableStreamDefaultReader,
  type ReadResult,
} from './streams.js';

/** Resolved in the same microtask turn: a read still pending after it is "not available yet". */
const NOT_YET: unique symbol = Symbol('not yet');

export class OutgoingStream {
  #reader: ReadableStreamDefaultReader | null;
  /** A read that was not ready when the last pull returned; the next pull awaits it first. */
  #pending: Promise<ReadResult> | null = null;
  /** The rest of a chunk larger than the last pull's maxBytes. */
  #leftover: Uint8Array | null = null;
  /** The stream ended while the last pull was collecting; the next pull returns null. */
  #ended = false;
  /** The stream failed after the last pull had collected bytes; the next pull reports it. */
  #failed: { error: unknown } | null = null;

  /** Takes `stream` (it must be usable) by locking it to a reader. */
  constructor(stream: ReadableStream) {
    this.#reader = stream.getReader();
  }

  /** Ends the stream early, cancelling it with `reason` if it is still open. */
  cancel(reason: unknown): void {
    const reader = this.#reader;
    this.#reader = null;
    this.#pending = null;
    this.#leftover = null;
    reader?.cancel(reason).catch(() => undefined);
  }

  /** The next chunk of at most `maxBytes`, null at the end; never rejects. */
  async pull(maxBytes: number): Promise<PullResult> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      return failure('PROCYON_INTERNAL', `pull needs a positive integer maxBytes, got ${String(maxBytes)}`);
    if (this.#failed !== null) {
      const { error } = this.#failed;
      this.#failed = null;
      return functionError(error);
    }
    const reader = this.#reader;
    if (reader === null) return { ok: true, value: null };
    const parts: Uint8Array[] = [];
    let size = 0;
    const add = (chunk: Uint8Array): void => {
      const take = Math.min(chunk.byteLength, maxBytes - size);
      parts.push(chunk.subarray(0, take));
      size += take;
      this.#leftover = take < chunk.byteLength ? chunk.subarray(take) : null;
    };
    if (this.#leftover !== null) add(this.#leftover);
    try {
      while (size < maxBytes && !this.#ended) {
        const read = this.#pending ?? reader.read();
        this.#pending = null;
        // After the first chunk, take only what the stream already has: never wait to fill up.
        const result = size === 0 ? await read : await Promise.race([read, Promise.resolve(NOT_YET)]);
        if (result === NOT_YET) {
          this.#pending = read;
          break;
        }
        if (result.done) this.#ended = true;
        else add(chunkBytes(result.value, 'Response'));
      }
    } catch (err) {
      this.cancel(err);
      // What was read before the failure still goes out; the failure comes with the next pull.
      if (size === 0) return functionError(err);
      this.#failed = { error: err };
    }
    if (size === 0 && this.#ended) {
      this.#reader = null;
      reader.releaseLock();
      return { ok: true, value: null };
    }
    // A fresh, exact-size buffer: structured clone copies a view's whole underlying buffer.
    return { ok: true, value: concatBytes(parts, size) };
  }
}
