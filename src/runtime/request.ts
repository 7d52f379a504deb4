/**
 * Request (WHATWG Fetch), for what a server-side function needs: the incoming request handed to
 * `fetch(request, env, ctx)` and requests users build themselves. Carries method, URL, headers and
 * a byte body; browser-only members (mode, credentials, cache, ...) are left out.
 */
import { Body, consumeBody, extractBody, peekBody, type BodyInit } from './body.js';
import { Headers, isToken, type HeadersInit } from './headers.js';
import { INSPECT, type Inspect } from './inspect.js';
import { isCanonicalHttpUrl, parseURL, type URL } from './url.js';

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
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
    const inputBody = from !== null ? peekBody(from) : null;
    const initBody = options.body;
    if (
      (method === 'GET' || method === 'HEAD') &&
      ((initBody !== undefined && initBody !== null) || inputBody !== null)
    ) {
      throw new TypeError(`Request: a ${method} request cannot have a body`);
    }
    let source: Uint8Array | null = null;
    const extracted = extractBody(initBody);
    if (extracted !== null) {
      source = extracted.bytes;
      if (extracted.contentType !== null && !headers.has('content-type'))
        headers.append('content-type', extracted.contentType);
    } else if (from !== null && inputBody !== null) {
      // The new request takes over the input's body, which leaves the input used (spec step 43).
      source = consumeBody(from, 'Request');
    }
    super(source);
    this.#method = method;
    this.#url = url;
    this.#headers = headers;
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

  clone(): Request {
    if (this.bodyUsed) throw new TypeError('Request.clone: body has already been used');
    const source = peekBody(this);
    return new Request(this.#url, {
      method: this.#method,
      headers: this.#headers,
      body: source === null ? null : source,
    });
  }

  get [Symbol.toStringTag](): string {
    return 'Request';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const fields = { method: this.#method, url: this.#url, headers: this.#headers, bodyUsed: this.bodyUsed };
    return `Request ${inspect(fields)}`;
  }
}
