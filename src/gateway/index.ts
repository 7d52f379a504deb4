/**
 * The gateway: public HTTP traffic for functions and process instances. Matches `/fn/:ns/:name/*`,
 * `/p/:ns/:class/:name/*` (docs/processes.md) and the routes declared at deploy (a namespace's under
 * `/ns/:ns/*`, the default namespace's also on the root), turns the request
 * into plain data and hands it to the invoker (instances: through the process manager). Bodies are
 * read raw (never parsed) and capped at the payload limit while streaming in, so an oversized
 * upload is refused with 413 without being buffered whole.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProcyonError } from '../errors.js';
import { InvocationError, type Invoker } from '../invoker/index.js';
import { routeSpace, type Registry } from '../registry/index.js';
import { sendResponse } from '../http/index.js';
import { checkAddress } from '../names.js';
import type { ProcessManager } from '../procs/index.js';
import type { HttpResponseData } from '../sandbox/index.js';

export interface GatewayOptions {
  registry: Registry;
  invoker: Invoker;
  procs: ProcessManager;
  maxPayloadBytes: number;
  /** Used when a client sends no usable Host header. */
  defaultHost: () => string;
}

const FN_PATH = /^\/fn\/([^/?#]+)\/([^/?#]+)(\/[^?#]*)?$/;
const PROC_PATH = /^\/p\/([^/?#]+)\/([^/?#]+)\/([^/?#]+)(\/[^?#]*)?$/;
const HOST = /^[A-Za-z0-9._-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
/** Methods no function is given: TRACE and TRACK echo requests back (cross-site tracing), CONNECT opens tunnels. */
const UNSERVED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

/**
 * The absolute URL a function sees. A Host header that is not a valid authority (`x:99999`, a bad
 * IPv6 literal) is the client's error, caught here rather than when the sandbox builds its Request.
 */
function requestUrl(hostHeader: string | undefined, target: string, defaultHost: () => string): string {
  const host = hostHeader === undefined || hostHeader === '' ? defaultHost() : hostHeader;
  const url = `http://${host}${target}`;
  if (HOST.test(host) && target.startsWith('/') && URL.canParse(url)) return url;
  throw new ProcyonError(
    'PROCYON_BAD_REQUEST',
    `invalid Host header or request target (Host: ${JSON.stringify(host.slice(0, 256))})`,
  );
}

export async function gatewayPlugin(app: FastifyInstance, opts: GatewayOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: opts.maxPayloadBytes },
    (_req, body, done) => {
      done(null, body);
    },
  );

  app.all('/*', { bodyLimit: opts.maxPayloadBytes }, async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?', 1)[0] ?? '/';
    const method = req.method;
    if (UNSERVED_METHODS.has(method))
      throw new ProcyonError('PROCYON_METHOD_NOT_ALLOWED', `${method} is not served here`);
    const url = requestUrl(req.headers.host, req.url, opts.defaultHost);
    const headers: [string, string][] = [];
    const raw = req.raw.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
    const body = Buffer.isBuffer(req.body) && req.body.byteLength > 0 ? new Uint8Array(req.body) : null;
    const request = { method, url, headers, body };
    if (path.startsWith('/p/')) {
      const proc = PROC_PATH.exec(path);
      if (!proc)
        throw new ProcyonError(
          'PROCYON_BAD_REQUEST',
          'address a process instance as /p/<namespace>/<Class>/<name>/...',
        );
      // Checked here as well as in the manager, so a bad name is a 400 before anything is looked up.
      const address = checkAddress({
        namespace: decodeURIComponent(proc[1] ?? ''),
        className: decodeURIComponent(proc[2] ?? ''),
        name: decodeURIComponent(proc[3] ?? ''),
      });
      return respond(reply, () => opts.procs.fetch(address, request, { from: { type: 'api' } }));
    }
    let target: { namespace: string; fn: string; routeKey: string; params: Record<string, string> };
    const direct = FN_PATH.exec(path);
    if (direct) {
      target = {
        namespace: decodeURIComponent(direct[1] ?? ''),
        fn: decodeURIComponent(direct[2] ?? ''),
        routeKey: `ANY /fn/${direct[1]}/${direct[2]}/{proxy+}`,
        params: { proxy: (direct[3] ?? '/').slice(1) },
      };
    } else {
      // Each namespace's routes are matched in its own space only (registry/routes.ts).
      const space = routeSpace(path);
      const match = space && opts.registry.match(space.namespace, method, space.path);
      if (!match) throw new ProcyonError('PROCYON_ROUTE_NOT_FOUND', `no function serves ${method} ${path}`);
      target = {
        namespace: match.owner.namespace,
        fn: match.owner.fn,
        routeKey: match.routeKey,
        params: match.params,
      };
    }
    return respond(reply, async () => {
      const result = await opts.invoker.invoke({
        namespace: target.namespace,
        fn: target.fn,
        trigger: 'http',
        input: {
          kind: 'http',
          request,
          route: { routeKey: target.routeKey, pathParameters: target.params },
        },
      });
      if (result.kind !== 'http')
        throw new ProcyonError('PROCYON_INTERNAL', 'an HTTP call produced no HTTP response');
      return result;
    });
  });
}

/** Sends what a call answered; a failed call's activation id goes out with its error. */
async function respond(
  reply: FastifyReply,
  run: () => Promise<{ activationId: string; response: HttpResponseData; body?: AsyncIterable<Uint8Array> }>,
): Promise<FastifyReply> {
  try {
    const result = await run();
    return sendResponse(reply, result.response, result.activationId, result.body);
  } catch (err) {
    if (err instanceof InvocationError) void reply.header('x-procyon-activation-id', err.activationId);
    throw err;
  }
}
