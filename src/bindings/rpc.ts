/**
 * Registers the node operations behind `env` bindings: KV namespaces and service bindings. Every
 * operation names a binding of the calling version; the version's own config says what that
 * binding points at, so a function reaches only what it declared.
 */
import { ProcyonError } from '../errors.js';
import { InvocationError, type Invoker } from '../invoker/index.js';
import type { RpcRouter } from '../node/rpc.js';
import type { HttpRequestData, HttpResponseData } from '../sandbox/index.js';
import type { Store, VersionRecord } from '../store/index.js';
import type { Registry } from '../registry/index.js';
import type { KvService } from './kv.js';

/** Service bindings may chain this deep (A → B → ...), then calls fail instead of recursing forever. */
export const MAX_SERVICE_DEPTH = 16;
/** Immutable versions looked up by key are remembered; this bounds that memory. */
const VERSION_CACHE = 1_000;

export interface BindingDeps {
  router: RpcRouter;
  registry: Registry;
  store: Store;
  kv: KvService;
  invoker: Invoker;
  maxPayloadBytes: number;
}

export function registerBindingOps(deps: BindingDeps): void {
  const cache = new Map<string, VersionRecord>();
  const versionOf = async (key: string): Promise<VersionRecord> => {
    const cached = cache.get(key);
    if (cached) return cached;
    const m = /^([^/]+)\/([^@]+)@(.+)$/.exec(key);
    if (!m) throw new TypeError(`malformed version key ${key}`);
    const [, namespace = '', fn = '', id = ''] = m;
    const latest = deps.registry.get(namespace, fn);
    const version =
      latest?.version.id === id ? latest.version : await deps.store.getVersion(namespace, fn, id);
    if (!version) throw new TypeError(`function version ${key} no longer exists`);
    if (cache.size >= VERSION_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(key, version);
    return version;
  };
  const kvTarget = async (key: string, binding: unknown) => {
    const v = await versionOf(key);
    const kv = typeof binding === 'string' ? v.config.kv?.[binding] : undefined;
    if (!kv) throw new TypeError(`"${String(binding)}" is not a KV binding of this function`);
    return { namespace: v.namespace, kv };
  };

  const { router, kv } = deps;
  router.register('kv.get', async ({ key }, [binding, k]) => kv.get(await kvTarget(key, binding), k));
  router.register('kv.put', async ({ key }, [binding, k, value, opts]) =>
    kv.put(await kvTarget(key, binding), k, value, opts ?? {}),
  );
  router.register('kv.delete', async ({ key }, [binding, k]) => kv.delete(await kvTarget(key, binding), k));
  router.register('kv.list', async ({ key }, [binding, opts]) =>
    kv.list(await kvTarget(key, binding), opts ?? {}),
  );

  router.register('service.fetch', async ({ key, activationId }, [binding, request]) => {
    const v = await versionOf(key);
    const target = typeof binding === 'string' ? v.config.services?.[binding] : undefined;
    if (!target) throw new TypeError(`"${String(binding)}" is not a service binding of this function`);
    const depth = deps.invoker.depthOf(activationId) + 1;
    if (depth > MAX_SERVICE_DEPTH) {
      throw new RangeError(`service bindings are nested more than ${MAX_SERVICE_DEPTH} deep`);
    }
    try {
      const result = await deps.invoker.invoke({
        namespace: v.namespace,
        fn: target,
        trigger: 'service',
        parentId: activationId,
        depth,
        input: {
          kind: 'http',
          request: request as HttpRequestData,
          route: { routeKey: 'ANY /{proxy+}', pathParameters: {} },
        },
      });
      if (result.kind !== 'http') throw new TypeError('the service did not answer with HTTP');
      return result.body
        ? await collect(result.response, result.body, deps.maxPayloadBytes)
        : result.response;
    } catch (err) {
      // The callee's failure is an HTTP answer to the caller, as it would be over the network.
      if (err instanceof ProcyonError) return errorResponse(err);
      throw err;
    }
  });
}

async function collect(
  response: HttpResponseData,
  body: AsyncIterable<Uint8Array>,
  max: number,
): Promise<HttpResponseData> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max)
      throw new ProcyonError('PROCYON_RESPONSE_TOO_LARGE', `the service's response exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  return { status: response.status, headers: response.headers, body: Buffer.concat(chunks) };
}

function errorResponse(err: ProcyonError): HttpResponseData {
  const headers: [string, string][] = [['content-type', 'application/json']];
  if (err instanceof InvocationError) headers.push(['x-procyon-activation-id', err.activationId]);
  return { status: err.status, headers, body: Buffer.from(JSON.stringify(err.toJSON())) };
}
