/**
 * Warms the per-call path while the snapshot is made. A fetch call runs here with a stand-in
 * handler (the wire request to a Request, reading a JSON body, headers, a Response from a string or
 * from JSON, the Response back to the wire), so the bytecode of those functions is in the snapshot
 * and no isolate compiles them on its first call: that halves the first call of a cold start
 * (test/runtime/snapshot.test.ts reports it). The calls finish in microtasks, which run before the
 * snapshot is taken.
 *
 * Everything reached from here runs while the snapshot is made, so it falls under the snapshot
 * rule (index.ts); test/runtime/snapshot.test.ts audits every function that runs then. Nothing
 * here may load a lazy module or library, and nothing it makes outlives the calls.
 */
import { runFetch, type BoundModule, type CallScope } from './adapters.js';
import type { HttpRequestData } from '../sandbox/types.js';
import type { Request } from './request.js';
import { Response } from './response.js';

/** Cannot happen: the stand-in handler calls nothing that reaches the host. */
const refuse = (): never => {
  throw new Error('not reached while warming');
};

export function warmCallPath(): void {
  const scope: CallScope = { sync: (body) => body(), waitUntil: refuse, streamBody: refuse };
  const call = { callId: 1, activationId: 'warming', deadline: 0, logLimitBytes: 0, maxResponseBytes: 1024 };
  const meta = { namespace: 'warming', fn: 'warming', version: 'warming', memoryMb: 0, vars: {} };
  const handler = async (request: Request): Promise<Response> => {
    if (request.method === 'GET') return new Response(request.url + (request.headers.get('accept') ?? ''));
    const data = await request.json();
    return Response.json({ data }, { status: 201, headers: { 'x-warming': 'yes' } });
  };
  const bound: Extract<BoundModule, { style: 'fetch' }> = {
    style: 'fetch',
    target: {},
    fetch: handler as never,
    meta,
    envFor: () => ({}),
  };
  const wire = (method: string, body: Uint8Array | null): HttpRequestData => ({
    method,
    url: 'https://warming.example/path?query=yes',
    headers: [
      ['accept', 'text/plain'],
      ['content-type', 'application/json'],
    ],
    body,
  });
  void runFetch(bound, wire('GET', null), call, scope);
  void runFetch(bound, wire('POST', new Uint8Array([0x7b, 0x7d])), call, scope);
}
