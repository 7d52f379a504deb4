/**
 * What is deployed, in memory: each function's latest version (code, config, handler style) and
 * the HTTP route table. The store is the source of truth; this is read on every request, so it is
 * kept in process and updated by deploys and deletes (cluster mode will invalidate it over the bus).
 */
import type { ProcSpec } from '../sandbox/index.js';
import type { FunctionRecord, Store, VersionRecord } from '../store/index.js';
import { parseRoute, RouteTable, type RouteMatch, type RouteOwner } from './routes.js';

export {
  DEFAULT_NAMESPACE,
  parseRoute,
  publicPath,
  routeSpace,
  type ParsedRoute,
  type RouteMatch,
} from './routes.js';

export interface DeployedFunction {
  record: FunctionRecord;
  version: VersionRecord;
  spec: ProcSpec;
}

export const fnKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** A version as the sandbox runs it; `secrets` are the function's current decrypted secrets. */
export function procSpec(v: VersionRecord, secrets: Record<string, string> = {}): ProcSpec {
  return {
    key: `${v.namespace}/${v.fn}@${v.id}`,
    namespace: v.namespace,
    fn: v.fn,
    version: v.id,
    code: v.code,
    memoryMb: v.config.memory,
    timeoutMs: v.config.timeout,
    vars: v.config.vars,
    secrets,
    bindings: { kv: Object.keys(v.config.kv ?? {}), services: Object.keys(v.config.services ?? {}) },
    egress: v.config.egress ?? { allow: [] },
    scaling: v.config.scaling ?? {},
    ...(v.config.process ? { process: { className: v.config.process.className } } : {}),
    ...(v.config.runtime ? { runtime: v.config.runtime } : {}),
  };
}

/**
 * Events one instance's isolate takes at once. Its input gate starts them one at a time and holds
 * them while storage reads are out; more than one in flight lets an event run while another awaits
 * a fetch or another process (docs/processes.md).
 */
export const INSTANCE_CONCURRENCY = 16;
/** Instance specs kept ready (one object each); beyond this the oldest is made again when needed. */
const INSTANCE_SPEC_CACHE = 10_000;

/** The spec of one process instance: its own scheduler group of at most one proc. */
export function instanceSpec(spec: ProcSpec, name: string): ProcSpec {
  return {
    ...spec,
    key: `${spec.key}#${name}`,
    process: { className: spec.process?.className ?? spec.fn, instance: name },
    scaling: {
      concurrency: INSTANCE_CONCURRENCY,
      minInstances: 0,
      maxInstances: 1,
      ...(spec.scaling.keepAliveMs === undefined ? {} : { keepAliveMs: spec.scaling.keepAliveMs }),
    },
  };
}

export class Registry {
  readonly #fns = new Map<string, DeployedFunction>();
  /** One route table per namespace that has routes (routes.ts: each namespace its own space). */
  readonly #routes = new Map<string, RouteTable>();

  /**
   * Stored routes that no longer parse (a rule tightened since they were deployed, e.g. the
   * reserved `/ns` prefix) or clash under today's rules: skipped at load, so one stale route never
   * keeps the node from starting; the node logs them.
   */
  readonly skippedRoutes: string[] = [];

  /** Decrypted secrets per function (`ns/fn`), kept so specs can be rebuilt without the store. */
  readonly #secrets = new Map<string, Record<string, string>>();

  /** `unseal` decrypts one function's secrets (names → values). */
  static async load(
    store: Store,
    unseal: (namespace: string, fn: string) => Promise<Record<string, string>>,
  ): Promise<Registry> {
    const registry = new Registry();
    for (const record of await store.listFunctions()) {
      const version = await store.getVersion(record.namespace, record.name, record.latest);
      if (!version) continue;
      const key = fnKey(record.namespace, record.name);
      const secrets = await unseal(record.namespace, record.name);
      registry.#secrets.set(key, secrets);
      registry.#fns.set(key, { record, version, spec: procSpec(version, secrets) });
    }
    for (const namespace of new Set(registry.list().map((f) => f.record.namespace))) {
      try {
        registry.#rebuildRoutes(namespace);
      } catch {
        registry.#routes.set(namespace, RouteTable.build(registry.#loadableOwners(namespace)));
      }
    }
    return registry;
  }

  get(namespace: string, name: string): DeployedFunction | undefined {
    return this.#fns.get(fnKey(namespace, name));
  }

  list(namespace?: string): DeployedFunction[] {
    return [...this.#fns.values()].filter((f) => namespace === undefined || f.record.namespace === namespace);
  }

  /** The route of `namespace` serving `method` and `path` (a path within its space, see `routeSpace`). */
  match(namespace: string, method: string, path: string): RouteMatch | undefined {
    return this.#routes.get(namespace)?.match(method, path);
  }

  /**
   * Throws PROCYON_CONFLICT (and changes nothing) if the version's routes clash with another
   * function's in its namespace; other namespaces' routes are never compared, nor named.
   */
  checkRoutes(version: VersionRecord): void {
    RouteTable.build(this.#owners(version.namespace, version));
  }

  /** Instance specs, made once per (version, instance) while used; bounded. */
  readonly #instances = new Map<string, ProcSpec>();

  /** The spec of process instance `name` of a class version (see `instanceSpec`). */
  instanceSpecOf(spec: ProcSpec, name: string): ProcSpec {
    const key = `${spec.key}#${name}`;
    const cached = this.#instances.get(key);
    // Secrets change the class spec object without changing its key: rebuild then.
    if (cached && cached.secrets === spec.secrets) return cached;
    if (this.#instances.size >= INSTANCE_SPEC_CACHE)
      this.#instances.delete(this.#instances.keys().next().value as string);
    const made = instanceSpec(spec, name);
    this.#instances.set(key, made);
    return made;
  }

  /** The sandbox spec of any version of a deployed function, with its current secrets. */
  specFor(version: VersionRecord): ProcSpec {
    return procSpec(version, this.#secrets.get(fnKey(version.namespace, version.fn)) ?? {});
  }

  /** Replaces a function's secrets; the caller retires its warm procs so they pick them up. */
  setSecrets(namespace: string, name: string, secrets: Record<string, string>): void {
    const key = fnKey(namespace, name);
    this.#secrets.set(key, secrets);
    const f = this.#fns.get(key);
    if (f) this.#fns.set(key, { ...f, spec: procSpec(f.version, secrets) });
  }

  secretNames(namespace: string, name: string): string[] {
    return Object.keys(this.#secrets.get(fnKey(namespace, name)) ?? {});
  }

  set(fn: DeployedFunction): void {
    const namespace = fn.record.namespace;
    const routes = RouteTable.build(this.#owners(namespace, fn.version));
    this.#fns.set(fnKey(namespace, fn.record.name), fn);
    this.#routes.set(namespace, routes);
  }

  remove(namespace: string, name: string): void {
    this.#fns.delete(fnKey(namespace, name));
    this.#secrets.delete(fnKey(namespace, name));
    this.#rebuildRoutes(namespace);
  }

  #rebuildRoutes(namespace: string): void {
    this.#routes.set(namespace, RouteTable.build(this.#owners(namespace)));
  }

  /** The owners of one namespace's stored routes that parse and do not clash, in deploy order. */
  #loadableOwners(namespace: string): RouteOwner[] {
    const kept: RouteOwner[] = [];
    for (const f of this.list(namespace)) {
      for (const raw of f.version.config.routes) {
        try {
          const owner = { namespace, fn: f.record.name, route: parseRoute(raw) };
          RouteTable.build([...kept, owner]);
          kept.push(owner);
        } catch (err) {
          this.skippedRoutes.push(`${namespace}/${f.record.name} "${raw}": ${(err as Error).message}`);
        }
      }
    }
    return kept;
  }

  /** The route owners of one namespace, with `replacing` standing in for its function's current version. */
  *#owners(namespace: string, replacing?: VersionRecord): Iterable<RouteOwner> {
    const replacedKey = replacing && fnKey(replacing.namespace, replacing.fn);
    for (const [key, f] of this.#fns) {
      if (key === replacedKey || f.record.namespace !== namespace) continue;
      for (const raw of f.version.config.routes)
        yield { namespace: f.record.namespace, fn: f.record.name, route: parseRoute(raw) };
    }
    if (replacing) {
      for (const raw of replacing.config.routes)
        yield { namespace: replacing.namespace, fn: replacing.fn, route: parseRoute(raw) };
    }
  }
}
