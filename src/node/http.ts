/** The node's HTTP server: the control API, the function gateway and health, on one Fastify app. */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { apiPlugin, type ApiOptions } from '../api/index.js';
import { ProcyonError } from '../errors.js';
import { gatewayPlugin, type GatewayOptions } from '../gateway/index.js';
import { errorHandler } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';

export interface HttpOptions {
  api: ApiOptions;
  gateway: GatewayOptions;
  logger: Logger;
  /** Headers must arrive within this long, so a byte-by-byte client cannot hold a socket forever. (ms) */
  headersTimeoutMs: number;
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
    // Node checks the headers deadline every connectionsCheckingInterval; keep that well below it.
    http: {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(50, Math.floor(opts.headersTimeoutMs / 4)),
    },
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
  app.setErrorHandler(errorHandler(opts.logger));
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
