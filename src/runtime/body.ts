/**
 * The Body mixin shared by Request and Response: the `body` stream, `bodyUsed`, and reading the
 * body once with text(), json(), arrayBuffer(), bytes(), blob() or formData().
 *
 * A body built from known bytes keeps them as bytes: the ReadableStream is made only when user
 * code reads `.body`, and even then the bytes stay known until someone touches the stream, so the
 * common case never loads the streams library. A stream body is read through the library; a body
 * is "used" once its stream is disturbed (fetch standard), or once its bytes were consumed.
 */
import type { BodySource } from './body-init.js';
import type { Blob } from './blob.js';
import { utf8Decode } from './encoding.js';
import type { FormData } from './form-data.js';
import type { Headers } from './headers.js';
import { blobModule, multipartModule } from './lazy.js';
import {
  isDisturbed,
  isUsable,
  knownBytes,
  markRead,
  readAllBytes,
  streamFromBytes,
  streamsModule,
  type ReadableStream,
} from './streams.js';

export type { BodyInit } from './body-init.js';

interface BodyState {
  /** Known bytes, while no stream has been made from them; shared, never written to. */
  bytes: Uint8Array | null;
  stream: ReadableStream | null;
  /** The known bytes were consumed without a stream. */
  used: boolean;
}

const EMPTY = new Uint8Array(0);

let stateOf: (body: Body) => BodyState | null;
let setState: (body: Body, source: BodySource | null) => void;

function newState(source: BodySource | null): BodyState | null {
  return source === null ? null : { bytes: source.bytes, stream: source.stream, used: false };
}

/** Whether the body is non-null, without making a stream for it. */
export function hasBody(body: Body): boolean {
  return stateOf(body) !== null;
}

/** Gives a just-constructed Request or Response its body (clone), without copying known bytes. */
export function adoptBody<T extends Body>(body: T, source: BodySource | null): T {
  setState(body, source);
  return body;
}

function isUnusable(state: BodyState | null): boolean {
  if (state === null) return false;
  return state.stream === null ? state.used : !isUsable(state.stream);
}

/** What the body holds for the wire: known bytes, a stream to pump, or nothing. */
export type TakenBody = { bytes: Uint8Array; stream: null } | { bytes: null; stream: ReadableStream } | null;

/**
 * Takes the body for good (the response going to the host, or a Request taking over another's
 * body): known bytes when they are known, else the stream. TypeError if it was already used.
 */
export function takeBody(body: Body, what: string): TakenBody {
  const state = stateOf(body);
  if (state === null) return null;
  if (isUnusable(state)) throw new TypeError(`${what}: body has already been used`);
  if (state.stream === null) {
    state.used = true;
    return { bytes: state.bytes ?? EMPTY, stream: null };
  }
  const bytes = knownBytes(state.stream);
  if (bytes === null) return { bytes: null, stream: state.stream };
  markRead(state.stream);
  return { bytes, stream: null };
}

/**
 * The body of a clone: known bytes are shared; a stream is teed, this body keeping one branch
 * (fetch standard "clone a body"). TypeError if the body was already used or is locked.
 */
export function cloneBody(body: Body, what: string): BodySource | null {
  const state = stateOf(body);
  if (state === null) return null;
  if (isUnusable(state)) throw new TypeError(`${what}: body has already been used`);
  if (state.stream === null) return { bytes: state.bytes ?? EMPTY, stream: null };
  const bytes = knownBytes(state.stream);
  if (bytes !== null) return { bytes, stream: null };
  const [mine, theirs] = state.stream.tee();
  state.stream = mine;
  return { bytes: null, stream: theirs };
}

/** Takes over another body as a Request constructor does: a stream is proxied, bytes shared. */
export function transferBody(body: Body, what: string): BodySource | null {
  const taken = takeBody(body, what);
  if (taken === null || taken.stream === null) return taken;
  return { bytes: null, stream: taken.stream.pipeThrough(new (streamsModule().TransformStream)()) };
}

export abstract class Body {
  #state: BodyState | null;
  readonly #headers: Headers;

  static {
    stateOf = (body) => body.#state;
    setState = (body, source) => {
      body.#state = newState(source);
    };
  }

  protected constructor(source: BodySource | null, headers: Headers) {
    this.#state = newState(source);
    this.#headers = headers;
  }

  /** The body as a ReadableStream of Uint8Array chunks; null for a null body. */
  get body(): ReadableStream<Uint8Array> | null {
    const state = this.#state;
    if (state === null) return null;
    if (state.stream === null) {
      state.stream = streamFromBytes(state.bytes ?? EMPTY);
      state.bytes = null;
      // Bytes that were already consumed show as a stream that was read, as in browsers.
      if (state.used) markRead(state.stream);
    }
    return state.stream as ReadableStream<Uint8Array>;
  }

  /** True once a non-null body has been read (a null body can be read any number of times). */
  get bodyUsed(): boolean {
    const state = this.#state;
    if (state === null) return false;
    return state.stream === null ? state.used : isDisturbed(state.stream);
  }

  /** The fetch standard's "consume body": all the bytes (shared: do not write to them). */
  async #consume(method: string): Promise<Uint8Array> {
    // Not a template: its one-character part would break in the warmed snapshot (warm.ts).
    const what = this.constructor.name + method;
    const taken = takeBody(this, what);
    if (taken === null) return EMPTY;
    return taken.stream === null ? taken.bytes : readAllBytes(taken.stream, what);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.#consume('.arrayBuffer')).slice().buffer;
  }

  async bytes(): Promise<Uint8Array> {
    return (await this.#consume('.bytes')).slice();
  }

  async text(): Promise<string> {
    return utf8Decode(await this.#consume('.text'));
  }

  async json(): Promise<unknown> {
    return JSON.parse(utf8Decode(await this.#consume('.json')));
  }

  async blob(): Promise<Blob> {
    const bytes = await this.#consume('.blob');
    return new (blobModule().Blob)([bytes], { type: this.#headers.get('content-type') ?? '' });
  }

  async formData(): Promise<FormData> {
    const bytes = await this.#consume('.formData');
    const { parseMediaType, parseMultipart, parseUrlencoded } = multipartModule();
    const { essence, params } = parseMediaType(this.#headers.get('content-type') ?? '');
    if (essence === 'multipart/form-data') {
      const boundary = params.get('boundary');
      if (boundary === undefined)
        throw new TypeError('Body.formData: the multipart/form-data Content-Type has no boundary');
      return parseMultipart(bytes, boundary);
    }
    if (essence === 'application/x-www-form-urlencoded') return parseUrlencoded(bytes);
    throw new TypeError(
      `Body.formData: cannot parse a body of Content-Type "${essence}"; expected multipart/form-data or application/x-www-form-urlencoded`,
    );
  }
}
