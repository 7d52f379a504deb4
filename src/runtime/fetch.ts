/**
 * The `fetch` global: sub-requests go out through the isolate host, which applies the function's
 * egress policy, follows redirects (checking the policy on every hop), and enforces the per-call
 * limits (src/sandbox/isolate/bridges/fetch.ts). Here the arguments become a Request, its body is
 * read to bytes, and the host's answer becomes a Response. Network failures and denials reject
 * with a TypeError, as the Fetch standard's "network error" does; an aborted signal rejects with
 * its reason and stops the host's request.
 */
import { callToken, hostCall, hostCallForCall } from './bridge.js';
import { DOMException } from './dom-exception.js';
import { freezeHeaders, headerEntries } from './headers.js';
import { Request, type RequestInfo, type RequestInit } from './request.js';
import { Response } from './response.js';
import type { RedirectMode } from '../sandbox/ops/map.js';
import type { FetchReply } from '../sandbox/types.js';

interface AbortSignalLike {
  aborted: boolean;
  reason: unknown;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: () => void): void;
}

type FetchInit = RequestInit & { redirect?: unknown; signal?: AbortSignalLike | null };

const REDIRECT_MODES: ReadonlySet<string> = new Set<RedirectMode>(['follow', 'manual', 'error']);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Ids the host knows this isolate's fetches by (for `fetch.abort`). */
const counter = { nextId: 1 };

function isRedirectMode(mode: string): mode is RedirectMode {
  return REDIRECT_MODES.has(mode);
}

function isSignal(value: unknown): value is AbortSignalLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignalLike).addEventListener === 'function' &&
    'aborted' in value
  );
}

function abortReason(signal: AbortSignalLike): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** The request's signal: init's wins, then the input Request's (once Request carries one). */
function signalOf(init: FetchInit, request: Request): AbortSignalLike | null {
  if (init.signal !== undefined && init.signal !== null) {
    if (!isSignal(init.signal)) throw new TypeError('fetch: init.signal must be an AbortSignal');
    return init.signal;
  }
  const own = (request as { signal?: unknown }).signal;
  return isSignal(own) ? own : null;
}

export async function fetch(input: RequestInfo, init?: FetchInit | null): Promise<Response> {
  if (init !== undefined && init !== null && typeof init !== 'object')
    throw new TypeError('fetch: init must be an object');
  // Taken on entry, before any await: only then is the calling handler known to be running
  // (calls.ts). The abort, if any, goes to the same call.
  const token = callToken();
  const options: FetchInit = init ?? {};
  const request = new Request(input, options);
  const redirect = options.redirect === undefined ? request.redirect : String(options.redirect);
  if (!isRedirectMode(redirect))
    throw new TypeError(`fetch: redirect must be "follow", "manual" or "error", not "${redirect}"`);
  const signal = signalOf(options, request);
  if (signal?.aborted) throw abortReason(signal);
  const url = request.url;
  if (!url.startsWith('http:') && !url.startsWith('https:'))
    throw new TypeError(
      `fetch: ${/^[^:]*/.exec(url)?.[0] ?? url} URLs are not supported, only http and https`,
    );
  const method = request.method;
  const body = method === 'GET' || method === 'HEAD' ? null : new Uint8Array(await request.arrayBuffer());
  if (signal?.aborted) throw abortReason(signal);
  const id = counter.nextId++;
  const sent = hostCallForCall(
    'fetch.request',
    [id, { method, url, headers: headerEntries(request.headers), body, redirect }],
    token,
  );
  const reply = signal === null ? await sent : await untilAborted(sent, signal, id, token);
  return toResponse(reply);
}

/** Settles with `sent`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(sent: Promise<T>, signal: AbortSignalLike, id: number, token: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal));
      hostCall('fetch.abort', [id], token).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sent.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function toResponse(reply: FetchReply): Response {
  const { status, url } = reply;
  if (!(status >= 200 && status <= 599))
    throw new TypeError(`fetch to ${url}: the server answered with status ${status}`);
  let response: Response;
  try {
    response = new Response(NULL_BODY_STATUSES.has(status) ? null : reply.body, {
      status,
      statusText: reply.statusText.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''),
      headers: reply.headers,
    });
  } catch (err) {
    throw new TypeError(`fetch to ${url}: invalid response: ${(err as Error).message}`, { cause: err });
  }
  // A fetched response's headers are immutable (Fetch standard, guard "immutable").
  freezeHeaders(response.headers);
  // Response has no way in for these yet; own accessors shadow its '' and false.
  Object.defineProperties(response, {
    url: { get: () => url, configurable: true },
    redirected: { get: () => reply.redirected, configurable: true },
  });
  return response;
}
