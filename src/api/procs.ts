/**
 * Process instances in the control API (docs/processes.md): list, get, evict, delete, and
 * messages (`call` waits for the reply, `send` does not). The API plugin's hooks have already
 * checked the key and the namespace.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProcyonError } from '../errors.js';
import { InvocationError } from '../invoker/index.js';
import { checkAddress } from '../names.js';
import type { InstanceAddress, ProcessManager } from '../procs/index.js';
import { MessageBody, NsParams, ProcListQuery, ProcParams } from './schemas.js';

type Params = { ns: string; className: string; name: string };
type ProcReq = FastifyRequest<{ Params: Params }>;
type MessageReq = FastifyRequest<{ Params: Params; Body: { message: unknown } }>;

/** The instance in the path; its names are checked here too, so a bad one is a 400 before any lookup. */
const address = (req: ProcReq | MessageReq): InstanceAddress =>
  checkAddress({ namespace: req.params.ns, className: req.params.className, name: req.params.name });

const notFound = (req: ProcReq): ProcyonError =>
  new ProcyonError(
    'PROCYON_PROC_NOT_FOUND',
    `no instance ${req.params.className}/${req.params.name} in namespace "${req.params.ns}"`,
  );

const API = { type: 'api' } as const;

export function procRoutes(app: FastifyInstance, procs: ProcessManager): void {
  app.get(
    '/namespaces/:ns/procs',
    { schema: { params: NsParams, querystring: ProcListQuery } },
    async (req: FastifyRequest<{ Params: { ns: string }; Querystring: { class?: string } }>) => ({
      procs: await procs.list(req.params.ns, req.query.class),
    }),
  );
  const one = '/namespaces/:ns/procs/:className/:name';
  app.get(one, { schema: { params: ProcParams } }, async (req: ProcReq) => {
    const info = await procs.get(address(req));
    if (!info) throw notFound(req);
    return info;
  });
  app.post(`${one}/evict`, { schema: { params: ProcParams } }, async (req: ProcReq) => ({
    evicted: await procs.evict(address(req)),
  }));
  app.delete(one, { schema: { params: ProcParams } }, async (req: ProcReq) => {
    if (!(await procs.delete(address(req)))) throw notFound(req);
    return { deleted: true };
  });
  app.post(
    `${one}/call`,
    { schema: { params: ProcParams, body: MessageBody } },
    async (req: MessageReq, reply: FastifyReply) => {
      try {
        const { activationId, reply: value } = await procs.call(address(req), req.body.message ?? null, {
          from: API,
        });
        void reply.header('x-procyon-activation-id', activationId);
        return { reply: value ?? null, activationId };
      } catch (err) {
        if (err instanceof InvocationError) void reply.header('x-procyon-activation-id', err.activationId);
        throw err;
      }
    },
  );
  app.post(
    `${one}/send`,
    { schema: { params: ProcParams, body: MessageBody } },
    async (req: MessageReq, reply: FastifyReply) => {
      const { id } = await procs.send(address(req), req.body.message ?? null, { from: API });
      return reply.code(202).send({ accepted: true, id });
    },
  );
}
