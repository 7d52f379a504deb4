/**
 * Activation records in the control API: list with filters, and one with its logs. Records still
 * waiting for their batch write are part of every answer. The API plugin's hooks have already
 * checked the key and the namespace.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProcyonError } from '../errors.js';
import type { ActivationRecorder } from '../invoker/index.js';
import type { ActivationRecord, Store } from '../store/index.js';
import { ActivationParams, ActivationQuery, NsParams } from './schemas.js';
import type { Activation } from './types.js';

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

export function activationRoutes(app: FastifyInstance, store: Store, recorder: ActivationRecorder): void {
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
