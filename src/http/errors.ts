/**
 * Maps every failure that reaches HTTP to `{ error: { code, message } }` with the right status,
 * including Fastify's own errors (body too large, bad JSON, schema validation).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ProcyonError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PROCYON_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'PROCYON_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'PROCYON_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'PROCYON_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'PROCYON_BAD_REQUEST',
  FST_ERR_VALIDATION: 'PROCYON_VALIDATION',
};

export function toProcyonError(err: unknown): ProcyonError {
  if (err instanceof ProcyonError) return err;
  const e = err as Partial<FastifyError> & { validation?: unknown };
  if (e.validation) {
    return new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid request: ${e.message ?? 'schema validation failed'}`,
    );
  }
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new ProcyonError(mapped, e.message ?? mapped);
  // Malformed JSON and prototype-poisoned bodies arrive as 400s from the body parser.
  if (e.statusCode === 400 || e instanceof SyntaxError) {
    return new ProcyonError('PROCYON_BAD_REQUEST', `malformed request body: ${e.message ?? 'invalid'}`);
  }
  if (e.statusCode === 413)
    return new ProcyonError('PROCYON_PAYLOAD_TOO_LARGE', e.message ?? 'payload too large');
  if (e.statusCode === 415)
    return new ProcyonError('PROCYON_UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported media type');
  return new ProcyonError('PROCYON_INTERNAL', 'internal error', { cause: err });
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): void => {
    const error = toProcyonError(err);
    if (error.code === 'PROCYON_INTERNAL')
      logger.error({ err, reqId: req.id, url: req.url }, 'request failed');
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply
      .code(error.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(error.toJSON()));
  };
}
