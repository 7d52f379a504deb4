/**
 * HTTP routes declared at deploy: `"GET /hello"`, `"/items/:id"` (any method), `"POST /files/*"`.
 * Matching uses find-my-way (Fastify's router); a namespace's table is rebuilt on every deploy in
 * it, which is rare next to requests, so lookups stay a single radix-tree walk.
 *
 * Each namespace has its own route space, so no tenant can claim a path that captures another's
 * traffic (a `/*` in one namespace once caught every unmatched path on the node) or learn what
 * another serves from a 409: namespace `ns` serves its routes under `/ns/<ns>`, and the `default`
 * namespace, the node admin's, also on the node's root.
 */
import FindMyWay from 'find-my-way';
import { ProcyonError } from '../errors.js';

export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/** The namespace whose routes are also served on the node's root: the admin's, made at first start. */
export const DEFAULT_NAMESPACE = 'default';

/** Paths the node itself answers, and the namespaces' route spaces; functions cannot claim them. */
const RESERVED = /^\/(api|fn|p|ns|metrics|healthz)(\/|$)/;

const NAMESPACE_PATH = /^\/ns\/([^/]+)(\/.*)?$/;

/**
 * Whose route space a request path is in, and the path within it: `/ns/acme/items/1` is
 * `/items/1` of `acme`; any path outside `/ns` is the default namespace's. Undefined for `/ns`
 * without a namespace, or one that is not valid percent-encoding.
 */
export function routeSpace(path: string): { namespace: string; path: string } | undefined {
  if (path !== '/ns' && !path.startsWith('/ns/')) return { namespace: DEFAULT_NAMESPACE, path };
  const m = NAMESPACE_PATH.exec(path);
  if (!m) return undefined;
  try {
    return { namespace: decodeURIComponent(m[1] ?? ''), path: m[2] ?? '/' };
  } catch {
    return undefined;
  }
}

/** The public path of a route path declared in `namespace` (see `routeSpace`). */
export function publicPath(namespace: string, path: string): string {
  return namespace === DEFAULT_NAMESPACE ? path : `/ns/${encodeURIComponent(namespace)}${path}`;
}

export interface ParsedRoute {
  /** null: any method */
  method: RouteMethod | null;
  path: string;
  raw: string;
}

export interface RouteOwner {
  namespace: string;
  fn: string;
  route: ParsedRoute;
}

export interface RouteMatch {
  owner: RouteOwner;
  params: Record<string, string>;
  /** API Gateway style, e.g. `GET /items/{id}`. */
  routeKey: string;
}

export function parseRoute(raw: string): ParsedRoute {
  const m = /^\s*(?:([A-Za-z]+|\*)\s+)?(\/\S*)\s*$/.exec(raw);
  if (!m || !m[2]) {
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid route "${raw}": expected "[METHOD] /path", e.g. "GET /hello/:name"`,
    );
  }
  const method = m[1]?.toUpperCase();
  if (
    method !== undefined &&
    method !== '*' &&
    method !== 'ANY' &&
    !ROUTE_METHODS.includes(method as RouteMethod)
  ) {
    throw new ProcyonError('PROCYON_VALIDATION', `invalid route "${raw}": unknown method ${method}`);
  }
  const path = m[2];
  if (RESERVED.test(path)) {
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid route "${raw}": ${path} is reserved for the node's own endpoints`,
    );
  }
  if (/\*./.test(path) || /:(?![A-Za-z_])/.test(path)) {
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid route "${raw}": a wildcard may only end the path and parameters need a name`,
    );
  }
  const normalized =
    method === undefined || method === '*' || method === 'ANY' ? null : (method as RouteMethod);
  return { method: normalized, path, raw: normalized ? `${normalized} ${path}` : path };
}

function routeKey(route: ParsedRoute): string {
  const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}').replace(/\*$/, '{proxy+}');
  return `${route.method ?? 'ANY'} ${path}`;
}

export class RouteTable {
  #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true, caseSensitive: true });

  /**
   * Builds one namespace's table from its functions' routes; throws PROCYON_CONFLICT if two claim
   * the same one. The message names the other function, which is in the caller's own namespace.
   */
  static build(owners: Iterable<RouteOwner>): RouteTable {
    const table = new RouteTable();
    const seen = new Map<string, RouteOwner>();
    for (const owner of owners) {
      const methods = owner.route.method ? [owner.route.method] : [...ROUTE_METHODS];
      for (const method of methods) {
        const key = `${method} ${owner.route.path}`;
        const other = seen.get(key);
        if (other && other.fn !== owner.fn) {
          throw new ProcyonError(
            'PROCYON_CONFLICT',
            `route "${owner.route.raw}" is already served by function "${other.fn}"`,
          );
        }
        seen.set(key, owner);
        try {
          table.#router.on(method, owner.route.path, () => undefined, owner);
        } catch (err) {
          // find-my-way refuses routes that shadow each other in ways it cannot order.
          throw new ProcyonError(
            'PROCYON_CONFLICT',
            `route "${owner.route.raw}": ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
      }
    }
    return table;
  }

  match(method: string, path: string): RouteMatch | undefined {
    const found = this.#router.find(method as RouteMethod, path);
    if (!found) return undefined;
    const owner = found.store as RouteOwner;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(found.params)) {
      if (v !== undefined) params[k === '*' ? 'proxy' : k] = v;
    }
    return { owner, params, routeKey: routeKey(owner.route) };
  }
}
