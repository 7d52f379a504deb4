/**
 * The control API under /api/v1 (contract: docs/API.md): one module of routes per resource,
 * composed here behind the checks they all share. Every route needs a Bearer API key that is
 * valid for the namespace in the path; bodies and queries are validated by schema.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize } from '../auth/index.js';
import type { KvService } from '../bindings/index.js';
import type { FunctionService, SecretService } from '../control/index.js';
import { ProcyonError } from '../errors.js';
import { useDepthLimitedJson } from '../http/index.js';
import type { ActivationRecorder, Invoker } from '../invoker/index.js';
import type { ProcessManager, SpawnedProcs } from '../procs/index.js';
import type { Store } from '../store/index.js';
import { activationRoutes } from './activations.js';
import { functionRoutes } from './functions.js';
import { keyRoutes } from './keys.js';
import { kvRoutes } from './kv.js';
import { namespaceRoutes } from './namespaces.js';
import { procRoutes } from './procs.js';
import { secretRoutes } from './secrets.js';
import { spawnedRoutes } from './spawned.js';

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

export async function apiPlugin(app: FastifyInstance, opts: ApiOptions): Promise<void> {
  const { store } = opts;
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
  keyRoutes(app, store);
  namespaceRoutes(app, store);
  functionRoutes(app, opts);
  secretRoutes(app, opts.secrets);
  kvRoutes(app, opts.kv, opts.maxPayloadBytes);
  activationRoutes(app, store, opts.recorder);
}
export type * from './types.js';
