/**
 * Long-running procs in the control API (docs/native-driver.md): spawn from a native-driver
 * function, `ps`, wait for start or exit (long polls of at most a minute; clients ask again),
 * evict (SIGTERM, then SIGKILL after the grace period), kill, and the tail of their output. The
 * API plugin's hooks have already checked the key and the namespace.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { MAX_WAIT_MS, type SpawnedProcs } from '../procs/index.js';
import { NAME_PATTERN } from '../control/index.js';
import { NsParams } from './schemas.js';

const SpawnParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  name: Type.String({ pattern: NAME_PATTERN }),
});
const SpawnBody = Type.Object(
  {
    /** The proc's name in its namespace (default: `<fn>-<6 hex>`); checked by the manager. */
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 })),
    /** A file of the artifact to run (default: the handler's module, or `bootstrap`). */
    main: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** A TCP port the program listens on, published as its named endpoint. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
  },
  { additionalProperties: false },
);
const PsParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
});
const WaitQuery = Type.Object({ timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_MS })) });
const EvictBody = Type.Union([
  Type.Object(
    { graceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
const PsQuery = Type.Object({ fn: Type.Optional(Type.String({ pattern: NAME_PATTERN })) });

type PsReq = FastifyRequest<{ Params: Static<typeof PsParams> }>;
type WaitReq = FastifyRequest<{ Params: Static<typeof PsParams>; Querystring: Static<typeof WaitQuery> }>;

/** An evicted proc's default grace period before SIGKILL. (ms) */
export const DEFAULT_GRACE_MS = 10_000;
const DEFAULT_WAIT_MS = 30_000;

export function spawnedRoutes(app: FastifyInstance, spawned: SpawnedProcs): void {
  app.post(
    '/namespaces/:ns/functions/:name/spawn',
    { schema: { params: SpawnParams, body: Type.Union([SpawnBody, Type.Null()]) } },
    async (
      req: FastifyRequest<{ Params: Static<typeof SpawnParams>; Body: Static<typeof SpawnBody> | null }>,
      reply: FastifyReply,
    ) => reply.code(201).send(spawned.spawn(req.params.ns, req.params.name, req.body ?? {})),
  );
  app.get(
    '/namespaces/:ns/ps',
    { schema: { params: NsParams, querystring: PsQuery } },
    async (req: FastifyRequest<{ Params: { ns: string }; Querystring: Static<typeof PsQuery> }>) => ({
      procs: spawned.list(req.params.ns, req.query.fn),
    }),
  );
  const one = '/namespaces/:ns/ps/:name';
  app.get(one, { schema: { params: PsParams } }, async (req: PsReq) =>
    spawned.get(req.params.ns, req.params.name),
  );
  app.get(`${one}/logs`, { schema: { params: PsParams } }, async (req: PsReq) =>
    spawned.logs(req.params.ns, req.params.name),
  );
  app.post(
    `${one}/wait-start`,
    { schema: { params: PsParams, querystring: WaitQuery } },
    async (req: WaitReq) =>
      spawned.waitStart(req.params.ns, req.params.name, req.query.timeout ?? DEFAULT_WAIT_MS),
  );
  app.post(
    `${one}/wait-exit`,
    { schema: { params: PsParams, querystring: WaitQuery } },
    async (req: WaitReq) =>
      spawned.waitExit(req.params.ns, req.params.name, req.query.timeout ?? DEFAULT_WAIT_MS),
  );
  app.post(
    `${one}/evict`,
    { schema: { params: PsParams, body: EvictBody } },
    async (req: FastifyRequest<{ Params: Static<typeof PsParams>; Body: Static<typeof EvictBody> }>, reply) =>
      reply
        .code(202)
        .send(spawned.evict(req.params.ns, req.params.name, req.body?.graceMs ?? DEFAULT_GRACE_MS)),
  );
  app.post(`${one}/kill`, { schema: { params: PsParams } }, async (req: PsReq, reply: FastifyReply) =>
    reply.code(202).send(spawned.kill(req.params.ns, req.params.name)),
  );
}
