/**
 * Host side of the isolate's `fetch` (src/runtime/fetch.ts): `fetch.request(id, request)` runs one
 * fetch, redirects included, and answers with the final response as data; `fetch.abort(id)` stops
 * one (its AbortSignal fired). Limits per call: at most MAX_CONCURRENT sub-requests at once
 * (further ones wait for a slot), a timeout per fetch that never runs past the call's deadline, a
 * cap on each response body; all in-flight fetches stop when the call ends.
 *
 * Redirects are followed here, one hop at a time, so the egress policy is checked on every hop
 * (http-client.ts); methods and bodies change as the Fetch standard says (303 → GET; 301/302 of
 * a POST → GET), and credentials are dropped when a redirect leaves the origin.
 */
import http from 'node:http';
import https from 'node:https';
import { invocationEnded, perCall } from './call-state.js';
import { EgressPolicy } from '../../egress/index.js';
import { readBody, sendHop, type Hop, type HopOptions } from './http-client.js';
import type { BridgeContext, BridgeTable } from './types.js';
import type { FetchOps, FetchRequestData } from '../../ops/index.js';
import type { FetchReply } from '../../types.js';

/** Sub-requests one call may have in flight; more wait (Workers' limit of open connections). */
export const MAX_CONCURRENT = 6;
/** Redirects one fetch follows (the Fetch standard's limit). */
const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a body, dropped when a redirect drops the body. */
const BODY_HEADERS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);
/** Headers not sent to another origin after a redirect. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** A counting semaphore whose waiters give up when their fetch is aborted. */
class Slots {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const granted = (): void => {
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        this.#waiters.splice(this.#waiters.indexOf(granted), 1);
        reject(signal.reason as Error);
      };
      this.#waiters.push(granted);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

interface CallFetches {
  policy: EgressPolicy;
  slots: Slots;
  agents: HopOptions['agents'];
  /** Controllers of the call's fetches, by the isolate's id. */
  inflight: Map<number, AbortController>;
}

const fetchesOf = perCall<CallFetches>(
  (ctx) => ({
    policy: new EgressPolicy(ctx.egress.allow, ctx.egress.deny),
    slots: new Slots(MAX_CONCURRENT),
    agents: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
    inflight: new Map(),
  }),
  (state) => {
    for (const controller of state.inflight.values()) controller.abort(invocationEnded());
    state.inflight.clear();
    state.agents.http.destroy();
    state.agents.https.destroy();
  },
);

export const FETCH_BRIDGES: BridgeTable<keyof FetchOps> = {
  'fetch.request': (ctx, [id, request]) => {
    if (typeof id !== 'number') throw new TypeError('fetch.request: the fetch id must be a number');
    return run(ctx, id, parseRequest(request));
  },

  'fetch.abort': (ctx, [id]) => {
    const controller = typeof id === 'number' ? fetchesOf(ctx).inflight.get(id) : undefined;
    // The isolate has already rejected the fetch with its signal's reason.
    controller?.abort(new Error('the fetch was aborted'));
  },
};

function parseRequest(value: unknown): FetchRequestData {
  const r = value as Partial<FetchRequestData> | null;
  const url = typeof r?.url === 'string' ? parseUrl(r.url) : null;
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new TypeError(`fetch: ${String(r?.url)} is not an http(s) URL`);
  const redirect = r?.redirect ?? 'follow';
  if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error')
    throw new TypeError(`fetch: redirect must be "follow", "manual" or "error"`);
  return {
    method: typeof r?.method === 'string' ? r.method : 'GET',
    url: url.href,
    headers: Array.isArray(r?.headers) ? r.headers.map(([n, v]) => [String(n), String(v)]) : [],
    body: r?.body instanceof Uint8Array ? r.body : null,
    redirect,
  };
}

async function run(ctx: BridgeContext, id: number, request: FetchRequestData): Promise<FetchReply> {
  if (ctx.signal.aborted) throw invocationEnded();
  const state = fetchesOf(ctx);
  const controller = new AbortController();
  state.inflight.set(id, controller);
  try {
    await state.slots.acquire(controller.signal);
    const ms = Math.max(0, Math.min(ctx.egress.timeoutMs, ctx.deadline - Date.now()));
    const timer = setTimeout(
      () => controller.abort(new TypeError(`fetch to ${request.url} timed out after ${ms} ms`)),
      ms,
    );
    try {
      return await follow(request, {
        policy: state.policy,
        agents: state.agents,
        signal: controller.signal,
        maxBytes: ctx.egress.maxResponseBytes,
      });
    } finally {
      clearTimeout(timer);
      state.slots.release();
    }
  } finally {
    state.inflight.delete(id);
  }
}

async function follow(
  request: FetchRequestData,
  options: HopOptions & { maxBytes: number },
): Promise<FetchReply> {
  let hop: Hop = {
    url: new URL(request.url),
    method: request.method,
    headers: request.headers,
    body: request.body,
  };
  for (let redirects = 0; ; redirects++) {
    const res = await sendHop(hop, options);
    const location = REDIRECT_STATUSES.has(res.status)
      ? (res.headers.find(([name]) => name.toLowerCase() === 'location')?.[1] ?? null)
      : null;
    if (location === null || request.redirect === 'manual') {
      const body = await readBody(res, hop.method, hop.url, options.maxBytes, options.signal);
      return {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        body,
        url: hop.url.href,
        redirected: redirects > 0,
      };
    }
    res.message.destroy();
    if (request.redirect === 'error')
      throw new TypeError(`fetch to ${hop.url.href} was redirected (${res.status}) and redirect is "error"`);
    if (redirects >= MAX_REDIRECTS)
      throw new TypeError(`fetch to ${request.url} was redirected more than ${MAX_REDIRECTS} times`);
    const next = parseUrl(location, hop.url);
    if (next === null || (next.protocol !== 'http:' && next.protocol !== 'https:'))
      throw new TypeError(
        `fetch to ${hop.url.href} was redirected to "${location}", which is not an http(s) URL`,
      );
    hop = redirected(hop, next, res.status);
  }
}

function parseUrl(input: string, base?: URL): URL | null {
  try {
    return new URL(input, base);
  } catch {
    return null;
  }
}

/** The next hop of a redirect (Fetch standard, HTTP-redirect fetch, steps 12–14). */
function redirected(hop: Hop, next: URL, status: number): Hop {
  let { method, headers, body } = hop;
  if (
    (status === 303 && method !== 'GET' && method !== 'HEAD') ||
    ((status === 301 || status === 302) && method === 'POST')
  ) {
    method = 'GET';
    body = null;
    headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
  }
  if (next.origin !== hop.url.origin)
    headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
  return { url: next, method, headers, body };
}
