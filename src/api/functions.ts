/**
 * Functions in the control API: deploy (by body or by name), list, get, versions, delete, and
 * invoke with an event. The API plugin's hooks have already checked the key and the namespace.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FunctionService } from '../control/index.js';
import { sendResponse } from '../http/index.js';
import { InvocationError, type Invoker } from '../invoker/index.js';
import { DeployBody, DeployByNameBody, FnParams, InvokeQuery, NsParams } from './schemas.js';

export interface FunctionRoutesOptions {
  functions: FunctionService;
  invoker: Invoker;
  /** The node's URL, for the `url` an invoked function's event carries. */
  baseUrl: () => string;
  maxDeployBytes: number;
  maxPayloadBytes: number;
}

type FnReq = FastifyRequest<{ Params: { ns: string; name: string } }>;

export function functionRoutes(app: FastifyInstance, opts: FunctionRoutesOptions): void {
  const { functions, invoker } = opts;
  const deploy = async (ns: string, body: DeployBody, reply: FastifyReply) => {
    const { artifact, ...rest } = body;
    const out = await functions.deploy(
      ns,
      artifact === undefined ? rest : { ...rest, artifact: Buffer.from(artifact, 'base64') },
    );
    return reply
      .code(out.created ? 201 : 200)
      .send({ function: out.fn, version: out.version, changed: out.changed });
  };

  app.post(
    '/namespaces/:ns/functions',
    { schema: { params: NsParams, body: DeployBody }, bodyLimit: opts.maxDeployBytes },
    async (req: FastifyRequest<{ Params: { ns: string }; Body: DeployBody }>, reply) =>
      deploy(req.params.ns, req.body, reply),
  );

  app.put(
    '/namespaces/:ns/functions/:name',
    { schema: { params: FnParams, body: DeployByNameBody }, bodyLimit: opts.maxDeployBytes },
    async (req: FastifyRequest<{ Params: { ns: string; name: string }; Body: DeployByNameBody }>, reply) =>
      deploy(req.params.ns, { ...req.body, name: req.params.name }, reply),
  );

  app.get(
    '/namespaces/:ns/functions',
    { schema: { params: NsParams } },
    async (req: FastifyRequest<{ Params: { ns: string } }>) => ({
      functions: functions.list(req.params.ns),
    }),
  );

  app.get('/namespaces/:ns/functions/:name', { schema: { params: FnParams } }, async (req: FnReq) =>
    functions.get(req.params.ns, req.params.name),
  );

  app.get(
    '/namespaces/:ns/functions/:name/versions',
    { schema: { params: FnParams } },
    async (req: FnReq) => ({
      versions: await functions.versions(req.params.ns, req.params.name),
    }),
  );

  app.delete('/namespaces/:ns/functions/:name', { schema: { params: FnParams } }, async (req: FnReq) => {
    await functions.delete(req.params.ns, req.params.name);
    return { deleted: true, name: req.params.name };
  });

  app.post(
    '/namespaces/:ns/functions/:name/invoke',
    { schema: { params: FnParams, querystring: InvokeQuery }, bodyLimit: opts.maxPayloadBytes },
    async (
      req: FastifyRequest<{ Params: { ns: string; name: string }; Querystring: { version?: string } }>,
      reply,
    ) => {
      const { ns, name } = req.params;
      try {
        const result = await invoker.invoke({
          namespace: ns,
          fn: name,
          ...(req.query.version ? { version: req.query.version } : {}),
          trigger: 'invoke',
          input: { kind: 'event', event: req.body ?? null, url: `${opts.baseUrl()}/fn/${ns}/${name}` },
        });
        if (result.kind === 'http')
          return sendResponse(reply, result.response, result.activationId, result.body);
        return reply
          .header('x-procyon-activation-id', result.activationId)
          .header('content-type', 'application/json; charset=utf-8')
          .send(JSON.stringify(result.value ?? null));
      } catch (err) {
        if (err instanceof InvocationError) void reply.header('x-procyon-activation-id', err.activationId);
        throw err;
      }
    },
  );
}
