/**
 * Request (WHATWG Fetch), for what a server-side function needs: the incoming request handed to
 * `fetch(request, env, ctx)` and requests users build themselves. Carries method, URL, headers and
 * a body (bytes or a stream, see body.ts); browser-only members (mode, credentials, cache, ...)
 * are left out.
 */
import { extractBody, type BodySource } from './body-init.js';
import { adoptBody, Body, cloneBody, hasBody, transferBody, type BodyInit } from './body.js';
import { Headers, isToken, type HeadersInit } from './headers.js';
import { INSPECT, type Inspect } from './inspect.js';
import type { AbortSignal } from './abort.js';
import { abortModule } from './lazy.js';
import { isCanonicalHttpUrl, parseURL, type URL } from './url.js';

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  /** Required, and only "half", when the body is a ReadableStream. */
  duplex?: 'half';
  /** The request's `signal` follows this one. */
  signal?: AbortSignal | null;
}

export type RequestInfo = Request | string | URL;

/** Methods the spec uppercases; any other token keeps its case (`patch` stays `patch`). */
const NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN = new Set(['CONNECT', 'TRACE', 'TRACK']);

export function normalizeMethod(method: unknown): string {
  const m = String(method);
  if (!isToken(m)) throw new TypeError(`Request: "${m}" is not a valid HTTP method`);
  const upper = m.toUpperCase();
  if (FORBIDDEN.has(upper)) throw new TypeError(`Request: the ${upper} method is forbidden`);
  return NORMALIZED.has(upper) ? upper : m;
}

function parseUrl(input: unknown): string {
  const s = String(input);
  if (isCanonicalHttpUrl(s)) return s;
  let url: URL;
  try {
    url = parseURL(s);
  } catch {
    throw new TypeError(`Request: "${s}" is not a valid absolute URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`Request: "${s}" includes credentials; send them in a header instead`);
  }
  return url.href;
}

export class Request extends Body {
  readonly #method: string;
  readonly #url: string;
  readonly #headers: Headers;
  /** The signal `signal` follows: init's, or the input Request's. */
  readonly #follows: AbortSignal | null;
  /** Made on first read, so that requests nobody aborts never load AbortSignal. */
  #signal: AbortSignal | null = null;

  constructor(input: RequestInfo, init?: RequestInit | null) {
    if (init !== undefined && init !== null && typeof init !== 'object') {
      throw new TypeError('Request: init must be an object');
    }
    const options: RequestInit = init ?? {};
    const from = input instanceof Request ? input : null;
    const url = from !== null ? from.#url : parseUrl(input);
    const method =
      options.method !== undefined ? normalizeMethod(options.method) : from !== null ? from.#method : 'GET';
    const headers = new Headers(
      options.headers !== undefined ? options.headers : from !== null ? from.#headers : undefined,
    );
    const initBody = extractBody(options.body, 'Request');
    const inputHasBody = from !== null && hasBody(from);
    if ((method === 'GET' || method === 'HEAD') && (initBody !== null || inputHasBody)) {
      throw new TypeError(`Request: a ${method} request cannot have a body`);
    }
    if (options.duplex !== undefined && options.duplex !== 'half')
      throw new TypeError(`Request: duplex must be "half", not ${JSON.stringify(String(options.duplex))}`);
    if (initBody?.source.stream && options.duplex === undefined)
      throw new TypeError('Request: a ReadableStream body needs the duplex: "half" option');
    let source: BodySource | null = null;
    if (initBody !== null) {
      source = initBody.source;
      if (initBody.contentType !== null && !headers.has('content-type'))
        headers.append('content-type', initBody.contentType);
    } else if (from !== null) {
      // The new request takes over the input's body, which leaves the input used (spec step 41).
      source = transferBody(from, 'Request');
    }
    const signal = options.signal ?? null;
    if (signal !== null && !(signal instanceof abortModule().AbortSignal))
      throw new TypeError('Request: signal must be an AbortSignal');
    super(source, headers);
    this.#method = method;
    this.#url = url;
    this.#headers = headers;
    this.#follows = signal ?? (from === null ? null : (from.#signal ?? from.#follows));
  }

  get method(): string {
    return this.#method;
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    return this.#headers;
  }

  get redirect(): string {
    return 'follow';
  }

  get duplex(): 'half' {
    return 'half';
  }

  /** Aborts when the signal the request was made with does; never, for the incoming request. */
  get signal(): AbortSignal {
    this.#signal ??= abortModule().AbortSignal.any(this.#follows === null ? [] : [this.#follows]);
    return this.#signal;
  }

  clone(): Request {
    const source = cloneBody(this, 'Request.clone');
    const init = { method: this.#method, headers: this.#headers, signal: this.#signal ?? this.#follows };
    return adoptBody(new Request(this.#url, init), source);
  }

  get [Symbol.toStringTag](): string {
    return 'Request';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const fields = { method: this.#method, url: this.#url, headers: this.#headers, bodyUsed: this.bodyUsed };
    return `Request ${inspect(fields)}`;
  }
}
