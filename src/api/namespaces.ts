/**
 * Namespaces in the control API: list (a namespace's key sees its own only) and create (admin
 * only; creating one that exists answers 200 with it).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize } from '../auth/index.js';
import { ProcyonError } from '../errors.js';
import type { Store } from '../store/index.js';
import { NsParams } from './schemas.js';

export function namespaceRoutes(app: FastifyInstance, store: Store): void {
  app.get('/namespaces', async (req) => {
    // A namespace's key sees its own namespace only.
    const key = await authorize(store, req.headers.authorization);
    return {
      namespaces: (await store.listNamespaces())
        .filter((n) => key.namespace === null || n.name === key.namespace)
        .map((n) => ({
          name: n.name,
          createdAt: new Date(n.createdAt).toISOString(),
        })),
    };
  });

  app.put(
    '/namespaces/:ns',
    { schema: { params: NsParams } },
    async (req: FastifyRequest<{ Params: { ns: string } }>, reply) => {
      const key = await authorize(store, req.headers.authorization);
      if (key.namespace !== null)
        throw new ProcyonError('PROCYON_FORBIDDEN', 'creating namespaces needs an admin key');
      const { namespace, created } = await store.ensureNamespace(req.params.ns);
      return reply
        .code(created ? 201 : 200)
        .send({ name: namespace.name, createdAt: new Date(namespace.createdAt).toISOString() });
    },
  );
}
