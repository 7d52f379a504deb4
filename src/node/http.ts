/**
 * The node's HTTP server: the control API, the function gateway and health, on one Fastify app;
 * and its graceful close.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { apiPlugin, type ApiOptions } from '../api/index.js';
import { ProcyonError } from '../errors.js';
import { gatewayPlugin, type GatewayOptions } from '../gateway/index.js';
import { capConnectionsPerIp, clientErrorHandler, errorHandler, refuseConnect } from '../http/index.js';
import type { Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';

export interface HttpOptions {
  api: ApiOptions;
  gateway: GatewayOptions;
  logger: Logger;
  /** Headers must arrive within this long, so a byte-by-byte client cannot hold a socket forever. (ms) */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this long; responses are not cut. (ms) */
  requestTimeoutMs: number;
  /** Open connections one client address may hold. */
  maxConnectionsPerIp: number;
  metrics: Metrics;
  /**
   * Why the node should not get traffic now, for load balancers (`/healthz` answers 503 with it);
   * null when healthy.
   */
  health: () => { status: string; reason?: string } | null;
}

export function createHttpServer(opts: HttpOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Node checks both deadlines every connectionsCheckingInterval; keep that well below them.
    // Node stops the request deadline once the request is in, so long streamed responses go on.
    // Fastify sets the server's requestTimeout from its own option (over `http`'s), so it goes there.
    requestTimeout: opts.requestTimeoutMs,
    http: {
      // Node answers a missing Host with a bare 400; the hook below answers it in our shape.
      requireHostHeader: false,
      headersTimeout: opts.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.floor(opts.headersTimeoutMs / 4)),
    },
    clientErrorHandler,
    // Unknown fields are errors, not silently dropped (Fastify's default strips them).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Requests Fastify refuses before routing (a malformed %-escape in the path) get our error
    // shape too, not Fastify's own.
    frameworkErrors: (error, _req, reply) => {
      const err = new ProcyonError('PROCYON_BAD_REQUEST', error.message);
      void (reply as FastifyReply).code(err.status).send(err.toJSON());
    },
  });
  refuseConnect(app.server);
  capConnectionsPerIp(app.server, opts.maxConnectionsPerIp);
  app.setErrorHandler(errorHandler(opts.logger));
  // Callback style, not async: every request passes here, and a promise per request is a cost.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.raw.httpVersion === '1.1' && !req.headers.host)
      done(new ProcyonError('PROCYON_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header'));
    else done();
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new ProcyonError(
      'PROCYON_NOT_FOUND',
      `no such endpoint: ${req.method} ${req.url.split('?')[0]}`,
    );
    void reply.code(err.status).send(err.toJSON());
  });
  // Prometheus text format; like /healthz it needs no key (bind the node to a private interface).
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await opts.metrics.render();
    return reply.header('content-type', contentType).send(body);
  });
  app.get('/healthz', async (_req, reply) => {
    const problem = opts.health();
    return problem ? reply.code(503).send(problem) : { status: 'ok' };
  });
  void app.register(apiPlugin, { ...opts.api, prefix: '/api/v1' });
  void app.register(gatewayPlugin, opts.gateway);
  return app;
}

/**
 * The HTTP server's graceful close: refuse new requests, give calls in flight the grace period,
 * then close the connections they leave idle.
 */
export async function drainHttpServer(
  http: FastifyInstance,
  invoker: Invoker,
  graceMs: number,
  logger: Logger,
): Promise<void> {
  const closing = http.close();
  const drained = await invoker.stop(graceMs);
  if (!drained)
    logger.warn({ inFlight: invoker.inFlight }, 'grace period over; stopping with calls in flight');
  // Keep-alive sockets that were busy when close() began become idle only now; close them as
  // they go idle, so a client holding a connection open cannot hold the shutdown.
  const server = http.server;
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  const force = setTimeout(() => server.closeAllConnections(), 5_000);
  await closing;
  clearInterval(sweeper);
  clearTimeout(force);
}

/** The URL clients use: a wildcard bind address is reached through loopback. */
export function listeningUrl(http: FastifyInstance): string {
  const addr = http.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
}
