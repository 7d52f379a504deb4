/**
 * KV namespaces in the control API, for operators: the same data functions see through their KV
 * bindings (list keys, get, put with a TTL, delete). The API plugin's hooks have already checked
 * the key and the namespace; its content-type parser hands non-JSON bodies over as bytes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KvService } from '../bindings/index.js';
import { ProcyonError } from '../errors.js';
import { KvKeyParams, KvListQuery, KvParams, KvPutQuery } from './schemas.js';

type KvReq = FastifyRequest<{ Params: { ns: string; kv: string; key: string } }>;

// KvService reports bad keys, values and TTLs as TypeErrors: here they are the caller's 400.
const kvCall = async <T>(fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TypeError) throw new ProcyonError('PROCYON_VALIDATION', err.message);
    throw err;
  }
};

export function kvRoutes(app: FastifyInstance, kv: KvService, maxPayloadBytes: number): void {
  app.get(
    '/namespaces/:ns/kv/:kv/keys',
    { schema: { params: KvParams, querystring: KvListQuery } },
    async (
      req: FastifyRequest<{
        Params: { ns: string; kv: string };
        Querystring: { prefix?: string; cursor?: string; limit?: number };
      }>,
    ) => kvCall(() => kv.list({ namespace: req.params.ns, kv: req.params.kv }, req.query)),
  );
  app.get(
    '/namespaces/:ns/kv/:kv/values/:key',
    { schema: { params: KvKeyParams } },
    async (req: KvReq, reply) => {
      const found = await kvCall(() =>
        kv.get({ namespace: req.params.ns, kv: req.params.kv }, req.params.key),
      );
      if (!found)
        throw new ProcyonError(
          'PROCYON_NOT_FOUND',
          `key "${req.params.key}" not found in KV namespace "${req.params.kv}"`,
        );
      if (found.metadata !== null) void reply.header('x-procyon-kv-metadata', JSON.stringify(found.metadata));
      return reply.header('content-type', 'application/octet-stream').send(Buffer.from(found.value));
    },
  );
  app.put(
    '/namespaces/:ns/kv/:kv/values/:key',
    { schema: { params: KvKeyParams, querystring: KvPutQuery }, bodyLimit: maxPayloadBytes },
    async (
      req: FastifyRequest<{ Params: { ns: string; kv: string; key: string }; Querystring: { ttl?: number } }>,
    ) => {
      const body = req.body;
      const value = Buffer.isBuffer(body)
        ? new Uint8Array(body)
        : new Uint8Array(Buffer.from(JSON.stringify(body ?? null)));
      await kvCall(() =>
        kv.put({ namespace: req.params.ns, kv: req.params.kv }, req.params.key, value, {
          ...(req.query.ttl ? { expirationTtl: req.query.ttl } : {}),
        }),
      );
      return { stored: true, key: req.params.key, bytes: value.byteLength };
    },
  );
  app.delete(
    '/namespaces/:ns/kv/:kv/values/:key',
    { schema: { params: KvKeyParams } },
    async (req: KvReq) => {
      await kvCall(() => kv.delete({ namespace: req.params.ns, kv: req.params.kv }, req.params.key));
      return { deleted: true, key: req.params.key };
    },
  );
}
