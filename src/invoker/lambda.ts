/**
 * Lambda-style handlers behind HTTP: the request becomes an API Gateway HTTP API (payload v2.0)
 * event, and the handler's result becomes the response, with the same rules API Gateway applies.
 */
import { ProcyonError } from '../errors.js';
import type { HttpRequestData, HttpResponseData } from '../sandbox/index.js';

const TEXTUAL = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

export interface RouteContext {
  /** The matched route, e.g. `GET /items/{id}`. */
  routeKey: string;
  pathParameters: Record<string, string>;
  stage?: string;
}

export function toApiGatewayEvent(req: HttpRequestData, route: RouteContext, requestId: string): unknown {
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [k, v] of req.headers) {
    const name = k.toLowerCase();
    if (name === 'cookie') cookies.push(...v.split(/;\s*/).filter(Boolean));
    else headers[name] = headers[name] === undefined ? v : `${headers[name]},${v}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const contentType = headers['content-type'] ?? '';
  const body = req.body && req.body.byteLength > 0 ? Buffer.from(req.body) : null;
  const isBase64Encoded = body !== null && !TEXTUAL.test(contentType);
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'procyon',
      apiId: 'procyon',
      domainName: url.host,
      domainPrefix: url.hostname.split('.')[0] ?? url.hostname,
      http: {
        method: req.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: headers['x-forwarded-for']?.split(',')[0]?.trim() ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage: route.stage ?? '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(Object.keys(route.pathParameters).length ? { pathParameters: route.pathParameters } : {}),
    ...(body ? { body: isBase64Encoded ? body.toString('base64') : body.toString('utf8') } : {}),
    isBase64Encoded,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * API Gateway's v2 rules: a result with `statusCode` is a response; anything else is JSON-encoded
 * as a 200 body.
 */
export function fromLambdaResult(value: unknown): HttpResponseData {
  if (!isRecord(value) || !('statusCode' in value)) {
    const body = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body) };
  }
  const status = Number(value.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new ProcyonError(
      'PROCYON_BAD_RESPONSE',
      `handler returned an invalid statusCode: ${String(value.statusCode)}`,
    );
  }
  const headers: [string, string][] = [];
  if (isRecord(value.headers))
    for (const [k, v] of Object.entries(value.headers)) headers.push([k, String(v)]);
  if (isRecord(value.multiValueHeaders)) {
    for (const [k, vs] of Object.entries(value.multiValueHeaders)) {
      if (Array.isArray(vs)) for (const v of vs) headers.push([k, String(v)]);
    }
  }
  if (Array.isArray(value.cookies)) for (const c of value.cookies) headers.push(['set-cookie', String(c)]);
  const raw = value.body;
  let body: Buffer;
  if (raw === undefined || raw === null) body = Buffer.alloc(0);
  else if (typeof raw !== 'string') body = Buffer.from(JSON.stringify(raw));
  else body = value.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw);
  return { status, headers, body };
}
