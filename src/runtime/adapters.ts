/**
 * The two handler styles a module may export, and how one call runs on each:
 * - Workers style, `export default { fetch(request, env, ctx) }`: the wire request becomes a
 *   Request, the returned Response is read back into plain data.
 * - Lambda style, `export const handler = (event, context) => ...` (or the legacy 3-argument
 *   `(event, context, callback)`): the event goes in, the result comes back as JSON-safe data.
 */
import { envFactory, type EnvFor } from './bindings.js';
import type { HttpRequestData } from '../sandbox/types.js';
import type { BindMeta, CallOptions, DispatchedResponse, DispatchResult } from './contract.js';
import { utf8ByteLength } from './encoding.js';
import { headerEntries } from './headers.js';
import { describeValue, failure, functionError, messageOf } from './failures.js';
import { Request } from './request.js';
import { isResponse, Response, responseParts, takeResponseBody } from './response.js';
import type { ReadableStream } from './streams.js';
import { nestsDeeperThan } from '../json-depth.js';

type Fn = (...args: unknown[]) => unknown;

/** A bound module; `envFor(callId)` is the `env` of a call (bindings.ts). */
export type BoundModule =
  | { style: 'fetch'; target: object; fetch: Fn; meta: BindMeta; envFor: EnvFor }
  | { style: 'handler'; handler: Fn; meta: BindMeta; envFor: EnvFor };

export const EXPORT_SHAPE =
  'the module must export default { fetch(request, env, ctx) } or export a handler(event, context) function';

/** Finds the handler style of an evaluated module namespace, or throws a TypeError for deploy. */
export function bindModule(namespace: Record<string, unknown>, meta: BindMeta): BoundModule {
  const def = namespace.default;
  const fetch =
    def !== null && (typeof def === 'object' || typeof def === 'function')
      ? (def as { fetch?: unknown }).fetch
      : undefined;
  if (typeof fetch === 'function') {
    const envFor = envFactory(meta);
    return { style: 'fetch', target: def as object, fetch: fetch as Fn, meta, envFor };
  }
  if (typeof namespace.handler === 'function')
    return { style: 'handler', handler: namespace.handler as Fn, meta, envFor: envFactory(meta) };
  const names = Object.keys(namespace);
  throw new TypeError(`${EXPORT_SHAPE} (it exports ${names.length === 0 ? 'nothing' : names.join(', ')})`);
}

/** What a call hands to its host beyond the response (host.ts keeps them per call). */
export interface CallScope {
  /** Runs the synchronous part of the user's handler as this call's code (calls.ts). */
  sync<T>(body: () => T): T;
  /** `ctx.waitUntil`: keeps the promise referenced; its rejection is logged. */
  waitUntil(promise: unknown): void;
  /** Takes a response body that is a real stream, for the host to pull. */
  streamBody(stream: ReadableStream): void;
}

export async function runFetch(
  mod: Extract<BoundModule, { style: 'fetch' }>,
  wire: HttpRequestData,
  call: CallOptions,
  scope: CallScope,
): Promise<DispatchResult> {
  let request: Request;
  try {
    request = requestFromWire(wire);
  } catch (err) {
    return failure('PROCYON_INTERNAL', `could not build the Request: ${messageOf(err)}`);
  }
  const ctx = {
    waitUntil: (promise: unknown): void => scope.waitUntil(promise),
    passThroughOnException: (): void => {},
  };
  let returned: unknown;
  try {
    const env = mod.envFor(call.callId);
    returned = await scope.sync(() => mod.fetch.call(mod.target, request, env, ctx));
  } catch (err) {
    return functionError(err);
  }
  return fetchResult(returned, call.maxResponseBytes, scope);
}

/** What a fetch handler returned, as the wire response (or the failure if it is not a Response). */
export function fetchResult(returned: unknown, maxBytes: number, scope: CallScope): DispatchResult {
  if (!isResponse(returned)) {
    const what =
      returned instanceof Response
        ? 'an object with Response.prototype that new Response() did not make'
        : describeValue(returned);
    return failure(
      'PROCYON_BAD_RESPONSE',
      `the fetch handler must return a Response, but it returned ${what}`,
    );
  }
  return responseToWire(returned, maxBytes, scope);
}

export function requestFromWire(wire: HttpRequestData): Request {
  const method = String(wire.method).toUpperCase();
  // Clients may send a body with GET or HEAD; a Request cannot carry one, so it is dropped.
  const body = method === 'GET' || method === 'HEAD' ? null : wire.body;
  return new Request(wire.url, { method: wire.method, headers: wire.headers, body });
}

/** Known bytes go whole; a real stream is handed to the scope for the host to pull. */
export function responseToWire(response: Response, maxBytes: number, scope: CallScope): DispatchResult {
  const { type, status, headers } = responseParts(response);
  if (type === 'error') return failure('PROCYON_BAD_RESPONSE', 'the fetch handler returned Response.error()');
  let body: ReturnType<typeof takeResponseBody>;
  try {
    body = takeResponseBody(response);
  } catch {
    return failure(
      'PROCYON_BAD_RESPONSE',
      'the fetch handler returned a Response whose body had already been read',
    );
  }
  if (body !== null && body.stream !== null) {
    scope.streamBody(body.stream);
    const streamed: DispatchedResponse = {
      status,
      headers: headerEntries(headers),
      body: null,
      stream: true,
    };
    return { ok: true, result: { type: 'fetch', response: streamed } };
  }
  const size = body?.bytes.byteLength ?? 0;
  if (size > maxBytes) {
    return failure(
      'PROCYON_RESPONSE_TOO_LARGE',
      `the response body is ${size} bytes, over the limit of ${maxBytes} bytes`,
    );
  }
  const wire: DispatchedResponse = {
    status,
    headers: headerEntries(headers),
    // A fresh, exact-size buffer: structured clone copies a view's whole underlying buffer.
    body: body === null ? new Uint8Array(0) : body.bytes.slice(),
  };
  return { ok: true, result: { type: 'fetch', response: wire } };
}

export async function runEvent(
  mod: Extract<BoundModule, { style: 'handler' }>,
  event: unknown,
  call: CallOptions,
  scope: CallScope,
): Promise<DispatchResult> {
  const { meta } = mod;
  const context = {
    awsRequestId: call.activationId,
    functionName: meta.fn,
    functionVersion: meta.version,
    memoryLimitInMB: String(meta.memoryMb),
    invokedFunctionArn: `arn:procyon:fn:${meta.namespace}:${meta.fn}`,
    logGroupName: `/procyon/${meta.namespace}/${meta.fn}`,
    logStreamName: `${meta.fn}/${meta.version}`,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: (): number => Math.max(0, call.deadline - Date.now()),
    // Procyon's addition: the same bindings a Workers-style handler gets as `env`.
    env: mod.envFor(call.callId),
  };
  let value: unknown;
  try {
    value = await scope.sync(() => callHandler(mod.handler, event, context));
  } catch (err) {
    return functionError(err);
  }
  return valueToWire(value, call.maxResponseBytes);
}

/**
 * Calls the handler. A 3-parameter handler gets the legacy `callback(err, result)`; whichever
 * settles first wins, the callback or a returned promise (an async 3-parameter handler).
 */
function callHandler(handler: Fn, event: unknown, context: object): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve(handler(event, context));
  return new Promise((resolve, reject) => {
    const callback = (err?: unknown, result?: unknown): void => {
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    const returned = handler(event, context, callback);
    if (
      returned !== null &&
      typeof returned === 'object' &&
      typeof (returned as PromiseLike<unknown>).then === 'function'
    ) {
      (returned as PromiseLike<unknown>).then(resolve, reject);
    }
  });
}

/**
 * Deepest result that may leave the isolate. The isolate's `JSON.stringify` copes with thousands of
 * levels, but the host's channel and the node's reply serialise the value again on smaller stacks:
 * 5,000 levels overflowed there (a 500). Request bodies have their own, lower limit (maxJsonDepth).
 */
const MAX_RESULT_DEPTH = 1_000;

/** Round-trips the value through JSON so only plain data crosses; `undefined` becomes null. */
function valueToWire(value: unknown, maxBytes: number): DispatchResult {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    return failure(
      'PROCYON_BAD_RESPONSE',
      `the handler's result cannot be serialised as JSON: ${messageOf(err)}`,
    );
  }
  if (json === undefined) json = 'null';
  if (nestsDeeperThan(json, MAX_RESULT_DEPTH)) {
    return failure(
      'PROCYON_BAD_RESPONSE',
      `the handler's result nests deeper than ${MAX_RESULT_DEPTH} levels of objects and arrays`,
    );
  }
  const size = utf8ByteLength(json);
  if (size > maxBytes) {
    return failure(
      'PROCYON_RESPONSE_TOO_LARGE',
      `the handler's result is ${size} bytes of JSON, over the limit of ${maxBytes} bytes`,
    );
  }
  return { ok: true, result: { type: 'event', value: JSON.parse(json) as unknown } };
}
