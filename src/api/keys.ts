/**
 * API keys in the control API (admin only): create, list, revoke. The plain key is in the create
 * response and nowhere else, ever.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, createApiKey } from '../auth/index.js';
import { ProcyonError } from '../errors.js';
import type { Store } from '../store/index.js';
import { CreateKeyBody, KeyParams } from './schemas.js';

export function keyRoutes(app: FastifyInstance, store: Store): void {
  const requireAdmin = async (req: FastifyRequest): Promise<void> => {
    const key = await authorize(store, req.headers.authorization);
    if (key.namespace !== null) throw new ProcyonError('PROCYON_FORBIDDEN', 'this needs an admin key');
  };

  app.post(
    '/keys',
    { schema: { body: CreateKeyBody } },
    async (req: FastifyRequest<{ Body: { namespace?: string | null } }>, reply) => {
      await requireAdmin(req);
      const namespace = req.body?.namespace ?? null;
      if (namespace !== null && !(await store.getNamespace(namespace))) {
        throw new ProcyonError('PROCYON_NAMESPACE_NOT_FOUND', `namespace "${namespace}" does not exist`);
      }
      const { key, record } = await createApiKey(store, namespace);
      return reply
        .code(201)
        .send({ id: record.id, key, namespace, createdAt: new Date(record.createdAt).toISOString() });
    },
  );
  app.get('/keys', async (req) => {
    await requireAdmin(req);
    return {
      keys: (await store.listApiKeys()).map((k) => ({
        id: k.id,
        namespace: k.namespace,
        createdAt: new Date(k.createdAt).toISOString(),
        revokedAt: k.revokedAt ? new Date(k.revokedAt).toISOString() : null,
      })),
    };
  });
  app.delete(
    '/keys/:id',
    { schema: { params: KeyParams } },
    async (req: FastifyRequest<{ Params: { id: string } }>) => {
      await requireAdmin(req);
      if (!(await store.revokeApiKey(req.params.id, Date.now()))) {
        throw new ProcyonError('PROCYON_NOT_FOUND', `no active API key with id "${req.params.id}"`);
      }
      return { revoked: true, id: req.params.id };
    },
  );
}
