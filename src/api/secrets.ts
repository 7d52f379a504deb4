/**
 * A function's secrets in the control API: list their names, put, delete. Values go in and never
 * come back out. The API plugin's hooks have already checked the key and the namespace.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SecretService } from '../control/index.js';
import { FnParams, SecretBody, SecretParams } from './schemas.js';

type SecretReq = FastifyRequest<{ Params: { ns: string; name: string; secret: string } }>;

export function secretRoutes(app: FastifyInstance, secrets: SecretService): void {
  app.get(
    '/namespaces/:ns/functions/:name/secrets',
    { schema: { params: FnParams } },
    async (req: FastifyRequest<{ Params: { ns: string; name: string } }>) => ({
      secrets: await secrets.list(req.params.ns, req.params.name),
    }),
  );
  app.put(
    '/namespaces/:ns/functions/:name/secrets/:secret',
    { schema: { params: SecretParams, body: SecretBody } },
    async (
      req: FastifyRequest<{ Params: { ns: string; name: string; secret: string }; Body: { value: string } }>,
    ) => secrets.put(req.params.ns, req.params.name, req.params.secret, req.body.value),
  );
  app.delete(
    '/namespaces/:ns/functions/:name/secrets/:secret',
    { schema: { params: SecretParams } },
    async (req: SecretReq) => {
      await secrets.delete(req.params.ns, req.params.name, req.params.secret);
      return { deleted: true, name: req.params.secret };
    },
  );
}
