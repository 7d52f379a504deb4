/**
 * The control API under /api/v1 (contract: docs/API.md). Every route needs a Bearer API key that
 * is valid for the namespace in the path; bodies and queries are validated by schema.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorize, createApiKey } from '../auth/keys.js';
import type { FunctionService } from '../control/functions.js';
import type { SecretService } from '../control/secrets.js';
import type { KvService } from '../bindings/kv.js';
import { ProcyonError } from '../errors.js';
import { useDepthLimitedJson } from '../http/json.js';
import { sendResponse } from '../http/reply.js';
import { InvocationError, type ActivationRecorder, type Invoker } from '../invoker/index.js';
import type { ActivationRecord, Store } from '../store/index.js';
import type { Activation } from './types.js';
import type { ProcessManager } from '../procs/index.js';
import { procRoutes } from './procs.js';
import { spawnedRoutes } from './spawned.js';
import type { SpawnedProcs } from '../procs/spawned.js';
import {
  ActivationParams,
  ActivationQuery,
  DeployBody,
  DeployByNameBody,
  FnParams,
  InvokeQuery,
  NsParams,
  CreateKeyBody,
  KeyParams,
  KvKeyParams,
  KvListQuery,
  KvParams,
  KvPutQuery,
  SecretBody,
  SecretParams,
} from './schemas.js';

export interface ApiOptions {
  kv: KvService;
  secrets: SecretService;
  store: Store;
  functions: FunctionService;
  invoker: Invoker;
  recorder: ActivationRecorder;
  maxPayloadBytes: number;
  maxDeployBytes: number;
  /** How deeply a JSON body may nest. (levels) */
  maxJsonDepth: number;
  baseUrl: () => string;
  procs: ProcessManager;
  /** Long-running procs of native-driver functions. */
  spawned: SpawnedProcs;
}

type NsReq = FastifyRequest<{ Params: { ns: string } }>;

function activationJson(a: ActivationRecord, withLogs: boolean): Activation {
  return {
    id: a.id,
    namespace: a.namespace,
    function: a.fn,
    version: a.version,
    trigger: a.trigger,
    start: new Date(a.start).toISOString(),
    durationMs: a.durationMs,
    billedMs: a.billedMs,
    memoryMb: a.memoryMb,
    gbSeconds: a.gbSeconds,
    cpuMs: a.cpuMs,
    cold: a.cold,
    status: a.status,
    errorCode: a.errorCode,
    logsTruncated: a.logsTruncated,
    parentId: a.parentId ?? null,
    ...(a.instance ? { instance: a.instance } : {}),
    ...(withLogs
      ? { logs: a.logs.map((l) => ({ ts: new Date(l.ts).toISOString(), level: l.level, msg: l.msg })) }
      : {}),
  };
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t))
    throw new ProcyonError('PROCYON_VALIDATION', `invalid ${name}: expected an ISO date or ms since epoch`);
  return t;
}

export async function apiPlugin(app: FastifyInstance, opts: ApiOptions): Promise<void> {
  const { store, functions, invoker, recorder } = opts;
  // The API speaks JSON only; anything else is 415 rather than a string event.
  app.removeContentTypeParser('text/plain');
  useDepthLimitedJson(app, opts.maxJsonDepth);
  // KV values are bytes: anything that is not JSON arrives as a Buffer (JSON is stored as its text).
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  app.addHook('preHandler', async (req: FastifyRequest) => {
    const ns = (req.params as { ns?: string } | undefined)?.ns;
    await authorize(store, req.headers.authorization, ns);
    // Everything under a namespace needs it to exist, except the route that creates it.
    if (ns !== undefined && req.routeOptions.url !== '/api/v1/namespaces/:ns') {
      if (!(await store.getNamespace(ns))) {
        throw new ProcyonError('PROCYON_NAMESPACE_NOT_FOUND', `namespace "${ns}" does not exist`);
      }
    }
  });

  procRoutes(app, opts.procs);
  spawnedRoutes(app, opts.spawned);

  const requireAdmin = async (req: FastifyRequest): Promise<void> => {
    const key = await authorize(store, req.headers.authorization);
    if (key.namespace !== null) throw new ProcyonError('PROCYON_FORBIDDEN', 'this needs an admin key');
  };

  // API keys (admin only). The plain key is in the create response and nowhere else, ever.
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

  app.put('/namespaces/:ns', { schema: { params: NsParams } }, async (req: NsReq, reply) => {
    const key = await authorize(store, req.headers.authorization);
    if (key.namespace !== null)
      throw new ProcyonError('PROCYON_FORBIDDEN', 'creating namespaces needs an admin key');
    const { namespace, created } = await store.ensureNamespace(req.params.ns);
    return reply
      .code(created ? 201 : 200)
      .send({ name: namespace.name, createdAt: new Date(namespace.createdAt).toISOString() });
  });

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

  app.get('/namespaces/:ns/functions', { schema: { params: NsParams } }, async (req: NsReq) => ({
    functions: functions.list(req.params.ns),
  }));

  type FnReq = FastifyRequest<{ Params: { ns: string; name: string } }>;
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

  type SecretReq = FastifyRequest<{ Params: { ns: string; name: string; secret: string } }>;
  app.get(
    '/namespaces/:ns/functions/:name/secrets',
    { schema: { params: FnParams } },
    async (req: FnReq) => ({
      secrets: await opts.secrets.list(req.params.ns, req.params.name),
    }),
  );
  app.put(
    '/namespaces/:ns/functions/:name/secrets/:secret',
    { schema: { params: SecretParams, body: SecretBody } },
    async (
      req: FastifyRequest<{ Params: { ns: string; name: string; secret: string }; Body: { value: string } }>,
    ) => opts.secrets.put(req.params.ns, req.params.name, req.params.secret, req.body.value),
  );
  app.delete(
    '/namespaces/:ns/functions/:name/secrets/:secret',
    { schema: { params: SecretParams } },
    async (req: SecretReq) => {
      await opts.secrets.delete(req.params.ns, req.params.name, req.params.secret);
      return { deleted: true, name: req.params.secret };
    },
  );

  // KV namespaces, for operators: the same data functions see through their KV bindings.
  // KvService reports bad keys, values and TTLs as TypeErrors: here they are the caller's 400.
  const kvCall = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TypeError) throw new ProcyonError('PROCYON_VALIDATION', err.message);
      throw err;
    }
  };
  type KvReq = FastifyRequest<{ Params: { ns: string; kv: string; key: string } }>;
  app.get(
    '/namespaces/:ns/kv/:kv/keys',
    { schema: { params: KvParams, querystring: KvListQuery } },
    async (
      req: FastifyRequest<{
        Params: { ns: string; kv: string };
        Querystring: { prefix?: string; cursor?: string; limit?: number };
      }>,
    ) => kvCall(() => opts.kv.list({ namespace: req.params.ns, kv: req.params.kv }, req.query)),
  );
  app.get(
    '/namespaces/:ns/kv/:kv/values/:key',
    { schema: { params: KvKeyParams } },
    async (req: KvReq, reply) => {
      const found = await kvCall(() =>
        opts.kv.get({ namespace: req.params.ns, kv: req.params.kv }, req.params.key),
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
    { schema: { params: KvKeyParams, querystring: KvPutQuery }, bodyLimit: opts.maxPayloadBytes },
    async (
      req: FastifyRequest<{ Params: { ns: string; kv: string; key: string }; Querystring: { ttl?: number } }>,
    ) => {
      const body = req.body;
      const value = Buffer.isBuffer(body)
        ? new Uint8Array(body)
        : new Uint8Array(Buffer.from(JSON.stringify(body ?? null)));
      await kvCall(() =>
        opts.kv.put({ namespace: req.params.ns, kv: req.params.kv }, req.params.key, value, {
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
      await kvCall(() => opts.kv.delete({ namespace: req.params.ns, kv: req.params.kv }, req.params.key));
      return { deleted: true, key: req.params.key };
    },
  );

  app.get(
    '/namespaces/:ns/activations',
    { schema: { params: NsParams, querystring: ActivationQuery } },
    async (req: FastifyRequest<{ Params: { ns: string }; Querystring: ActivationQuery }>) => {
      const q = req.query;
      const query = {
        namespace: req.params.ns,
        ...(q.fn ? { fn: q.fn } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.since ? { since: parseTime('since', q.since) } : {}),
        ...(q.until ? { until: parseTime('until', q.until) } : {}),
        limit: q.limit ?? 50,
      };
      // Records still waiting for their batch write are part of the answer.
      const pending = recorder
        .pendingFor(query.namespace)
        .filter(
          (a) =>
            (query.fn === undefined || a.fn === query.fn) &&
            (query.status === undefined || a.status === query.status) &&
            (query.since === undefined || a.start >= query.since) &&
            (query.until === undefined || a.start < query.until),
        );
      const stored = await store.listActivations(query);
      const seen = new Set(stored.map((a) => a.id));
      const all = [...pending.filter((a) => !seen.has(a.id)), ...stored]
        .sort((a, b) => b.start - a.start)
        .slice(0, query.limit);
      return { activations: all.map((a) => activationJson(a, false)) };
    },
  );

  app.get(
    '/namespaces/:ns/activations/:id',
    { schema: { params: ActivationParams } },
    async (req: FastifyRequest<{ Params: { ns: string; id: string } }>) => {
      const { ns, id } = req.params;
      const found = recorder.find(ns, id) ?? (await store.getActivation(ns, id));
      if (!found)
        throw new ProcyonError(
          'PROCYON_ACTIVATION_NOT_FOUND',
          `activation "${id}" not found in namespace "${ns}"`,
        );
      return activationJson(found, true);
    },
  );
}
export type * from './types.js';
