/**
 * HTTP routes declared at deploy: `"GET /hello"`, `"/items/:id"` (any method), `"POST /files/*"`.
 * Matching uses find-my-way (Fastify's router); the table is rebuilt on every deploy, which is
 * rare next to requests, so lookups stay a single radix-tree walk.
 */
import FindMyWay from 'find-my-way';
import { ProcyonError } from '../errors.js';

export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/** Paths the node itself answers; functions cannot claim them. */
const RESERVED = /^\/(api|fn|p|metrics|healthz)(\/|$)/;

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

  /** Builds a table from every function's routes; throws PROCYON_CONFLICT if two claim the same one. */
  static build(owners: Iterable<RouteOwner>): RouteTable {
    const table = new RouteTable();
    const seen = new Map<string, RouteOwner>();
    for (const owner of owners) {
      const methods = owner.route.method ? [owner.route.method] : [...ROUTE_METHODS];
      for (const method of methods) {
        const key = `${method} ${owner.route.path}`;
        const other = seen.get(key);
        if (other && (other.namespace !== owner.namespace || other.fn !== owner.fn)) {
          throw new ProcyonError(
            'PROCYON_CONFLICT',
            `route "${owner.route.raw}" is already served by function "${other.fn}" in namespace "${other.namespace}"`,
          );
        }
        seen.set(key, owner);
        try {
          table.#router.on(method, owner.route.path, () => undefined, owner);
        } catch (err) {
          // find-my-way refuses routes that shadow each other in ways it cannot order.
          throw new ProcyonError('PROCYON_CONFLICT', `route "${owner.route.raw}": ${(err as Error).message}`);
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
