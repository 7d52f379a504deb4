/**
 * Response (WHATWG Fetch): what a fetch handler returns, plus the static helpers json(),
 * redirect() and error(). The dispatcher reads status, headers and body bytes back out through
 * `responseParts`, never through the public (user-patchable) getters.
 */
import { extractBody } from './body-init.js';
import { adoptBody, Body, cloneBody, takeBody, type BodyInit, type TakenBody } from './body.js';
import { freezeHeaders, Headers, type HeadersInit } from './headers.js';
import { INSPECT, type Inspect } from './inspect.js';
import { parseURL, type URL } from './url.js';

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export type ResponseType = 'default' | 'error';

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** RFC 9110 reason-phrase: HTAB, SP, visible ASCII and obs-text. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface ResponseParts {
  type: ResponseType;
  status: number;
  headers: Headers;
}

let partsOf: (response: Response) => ResponseParts;
let makeError: () => Response;
let isBranded: (value: object) => boolean;

/** Whether the value was made by the Response constructor (not merely given its prototype). */
export function isResponse(value: unknown): value is Response {
  return typeof value === 'object' && value !== null && isBranded(value);
}

/** Type, status and headers as the Response holds them internally. */
export function responseParts(response: Response): ResponseParts {
  return partsOf(response);
}

export class Response extends Body {
  #type: ResponseType = 'default';
  #status: number;
  readonly #statusText: string;
  readonly #headers: Headers;

  static {
    partsOf = (r) => ({ type: r.#type, status: r.#status, headers: r.#headers });
    isBranded = (value) => #status in value;
    makeError = () => {
      const r = new Response(null, { status: 200 });
      r.#type = 'error';
      r.#status = 0;
      return r;
    };
  }

  constructor(body: BodyInit | null = null, init?: ResponseInit | null) {
    if (init !== undefined && init !== null && typeof init !== 'object') {
      throw new TypeError('Response: init must be an object');
    }
    const options: ResponseInit = init ?? {};
    const status = options.status === undefined ? 200 : Math.trunc(Number(options.status));
    if (!(status >= 200 && status <= 599)) {
      throw new RangeError(`Response: status ${String(options.status)} is outside the range 200 to 599`);
    }
    const statusText = options.statusText === undefined ? '' : String(options.statusText);
    if (!REASON_PHRASE.test(statusText))
      throw new TypeError(`Response: invalid statusText ${JSON.stringify(statusText)}`);
    const headers = new Headers(options.headers);
    const extracted = extractBody(body, 'Response');
    if (extracted !== null) {
      if (NULL_BODY_STATUSES.has(status))
        throw new TypeError(`Response: a ${status} response cannot have a body`);
      if (extracted.contentType !== null && !headers.has('content-type'))
        headers.append('content-type', extracted.contentType);
    }
    super(extracted === null ? null : extracted.source, headers);
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = headers;
  }

  /** A network error: status 0, immutable empty headers. Returning one from fetch is an error. */
  static error(): Response {
    const r = makeError();
    freezeHeaders(r.#headers);
    return r;
  }

  static redirect(url: string | URL, status: number = 302): Response {
    let location: string;
    try {
      location = parseURL(String(url)).href;
    } catch {
      throw new TypeError(`Response.redirect: "${String(url)}" is not a valid absolute URL`);
    }
    if (!REDIRECT_STATUSES.has(Number(status)))
      throw new RangeError(`Response.redirect: ${String(status)} is not a redirect status`);
    const r = new Response(null, { status: Number(status), headers: { location } });
    freezeHeaders(r.#headers);
    return r;
  }

  static json(data: unknown, init?: ResponseInit | null): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the value cannot be converted to JSON');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, { ...init, headers });
  }

  get type(): ResponseType {
    return this.#type;
  }

  get url(): string {
    return '';
  }

  get redirected(): boolean {
    return false;
  }

  get status(): number {
    return this.#status;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get statusText(): string {
    return this.#statusText;
  }

  get headers(): Headers {
    return this.#headers;
  }

  clone(): Response {
    if (this.#type === 'error') return Response.error();
    const source = cloneBody(this, 'Response.clone');
    const init = { status: this.#status, statusText: this.#statusText, headers: this.#headers };
    return adoptBody(new Response(null, init), source);
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const fields = {
      status: this.status,
      statusText: this.#statusText,
      headers: this.#headers,
      ok: this.ok,
      type: this.#type,
      bodyUsed: this.bodyUsed,
    };
    return `Response ${inspect(fields)}`;
  }
}

/** Takes the body for the wire: known bytes or the stream; TypeError if it was already used. */
export function takeResponseBody(response: Response): TakenBody {
  return takeBody(response, 'Response');
}
