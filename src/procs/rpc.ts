/**
 * The node operations behind `ctx.storage`, alarms and `env.procs` (docs/processes.md, wire table).
 * The calling proc's key says who asks: a process instance's key is `ns/Class@version#name`, and
 * storage and alarm operations act on that instance's storage only; anything else is refused.
 * Values arrive as structured-clone data (the host channel uses node:v8) and are stored as their
 * `node:v8` serialisation.
 */
import { deserialize, serialize } from 'node:v8';
import { ProcyonError } from '../errors.js';
import type { Invoker } from '../invoker/index.js';
import type { MessageFrom } from '../sandbox/index.js';
import type { NodeOpTable, ProcOps, RpcCaller, RpcRouter } from '../sandbox/ops/index.js';
import type { ProcKey, ProcListQuery, ProcWriteOp, Store } from '../store/index.js';
import type { AlarmScheduler } from './alarms.js';
import type { Caller, ProcessManager } from './types.js';

export const MAX_KEY_BYTES = 2048;
export const MAX_VALUE_BYTES = 128 * 1024;
export const MAX_KEYS_PER_CALL = 128;
/** Process calls may nest this deep (A → B → C ...), like service bindings. */
export const MAX_PROC_DEPTH = 16;

export interface ProcRpcDeps {
  router: RpcRouter;
  store: Store;
  procs: ProcessManager;
  /** For the depth of the calling activation (nested calls are bounded). */
  invoker: Pick<Invoker, 'depthOf'>;
  alarms: Pick<AlarmScheduler, 'set' | 'delete'>;
  /** An instance's storage may not grow past this. (bytes) */
  storageMaxBytes: number;
  /** Largest response body `procs.fetch` hands back to its caller. (bytes) */
  maxPayloadBytes: number;
}

const KEY_RE = /^([^/]+)\/([^@]+)@[^#]+#(.+)$/;

/** The instance a proc key names; TypeError for anything that is not a process instance. */
export function instanceOf(key: string): ProcKey {
  const m = KEY_RE.exec(key);
  if (!m) throw new TypeError('storage is only available to process instances');
  const [, namespace = '', className = '', name = ''] = m;
  return { namespace, className, name };
}

/** Who a proc is, as `onMessage` sees it. */
function callerOf(key: string): MessageFrom {
  const m = KEY_RE.exec(key);
  if (m) return { type: 'process', class: m[2] ?? '', name: m[3] ?? '' };
  const fn = /^[^/]+\/([^@]+)@/.exec(key)?.[1] ?? '';
  return { type: 'function', fn };
}

function storageError(message: string): ProcyonError {
  return new ProcyonError('PROCYON_STORAGE_LIMIT', message);
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError('storage keys must be strings');
  const size = Buffer.byteLength(key);
  if (size > MAX_KEY_BYTES)
    throw storageError(`a key of ${size} bytes is over the limit of ${MAX_KEY_BYTES}`);
  return key;
}

function encode(key: string, value: unknown): Uint8Array {
  const bytes = serialize(value);
  if (bytes.byteLength > MAX_VALUE_BYTES) {
    throw storageError(
      `the value of "${key.slice(0, 64)}" is ${bytes.byteLength} bytes serialised, over the limit of ${MAX_VALUE_BYTES}`,
    );
  }
  return bytes;
}

function writeOps(raw: unknown): ProcWriteOp[] {
  if (!Array.isArray(raw)) throw new TypeError('storage.write takes a list of operations');
  return raw.map((op: unknown): ProcWriteOp => {
    const o = op as Record<string, unknown>;
    if (typeof o?.put === 'string') return { put: checkKey(o.put), value: encode(o.put, o.value) };
    if (typeof o?.delete === 'string') return { delete: checkKey(o.delete) };
    if (o?.deleteAll === true) return { deleteAll: true };
    throw new TypeError('unknown storage operation');
  });
}

function listQuery(raw: unknown): ProcListQuery {
  const o = (raw ?? {}) as Record<string, unknown>;
  const q: ProcListQuery = {};
  for (const name of ['prefix', 'start', 'end'] as const)
    if (o[name] !== undefined) q[name] = checkKey(o[name]);
  if (o.limit !== undefined) {
    const limit = Number(o.limit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError('list limit must be a positive integer');
    q.limit = limit;
  }
  if (o.reverse === true) q.reverse = true;
  return q;
}

const decoded = (entries: [string, Uint8Array][]): [string, unknown][] =>
  entries.map(([key, bytes]) => [key, deserialize(bytes)]);

export function registerProcOps(deps: ProcRpcDeps): void {
  const { store } = deps;
  const target = (className: unknown, name: unknown, key: string) => {
    if (typeof className !== 'string' || typeof name !== 'string')
      throw new TypeError('a process is addressed by class and name (strings)');
    return { namespace: instanceOrFunctionNamespace(key), className, name };
  };
  const caller = ({ key, activationId }: RpcCaller): Caller => {
    const depth = deps.invoker.depthOf(activationId) + 1;
    if (depth > MAX_PROC_DEPTH)
      throw new RangeError(`process calls are nested more than ${MAX_PROC_DEPTH} deep`);
    return { from: callerOf(key), parentId: activationId, depth };
  };
  /** Messages cross in memory but are copied twice: bounded like request bodies. */
  const checkSize = (message: unknown): void => {
    const size = serialize(message).byteLength;
    if (size > deps.maxPayloadBytes)
      throw new ProcyonError(
        'PROCYON_PAYLOAD_TOO_LARGE',
        `the message is ${size} bytes serialised, over the limit of ${deps.maxPayloadBytes}`,
      );
  };
  const ops: NodeOpTable<keyof ProcOps> = {
    'storage.get': async ({ key }, [keys]) => {
      const id = instanceOf(key);
      if (!Array.isArray(keys)) throw new TypeError('storage.get takes a list of keys');
      if (keys.length > MAX_KEYS_PER_CALL)
        throw storageError(
          `storage.get takes at most ${MAX_KEYS_PER_CALL} keys; it was given ${keys.length}`,
        );
      return decoded(await store.procs.get(id, keys.map(checkKey)));
    },
    'storage.list': async ({ key }, [query]) =>
      decoded(await store.procs.list(instanceOf(key), listQuery(query))),
    'storage.write': async ({ key }, [ops]) =>
      store.procs.write(instanceOf(key), writeOps(ops), deps.storageMaxBytes),
    'alarm.get': async ({ key }) => store.procs.getAlarm(instanceOf(key)),
    'alarm.set': async ({ key }, [at]) => {
      if (typeof at !== 'number' || !Number.isFinite(at))
        throw new TypeError('an alarm time must be a number');
      await deps.alarms.set(instanceOf(key), at);
      return null;
    },
    'alarm.delete': async ({ key }) => {
      await deps.alarms.delete(instanceOf(key));
      return null;
    },

    'procs.call': async (call, [className, name, message]) => {
      checkSize(message);
      const from = caller(call);
      return (await deps.procs.call(target(className, name, call.key), message, from)).reply;
    },
    'procs.send': async (call, [className, name, message]) => {
      checkSize(message);
      // A one-way message holds no slot of its sender: it starts a new chain, not a nested call.
      const from: Caller = { from: callerOf(call.key), parentId: call.activationId };
      await deps.procs.send(target(className, name, call.key), message, from);
      return null;
    },
    'procs.fetch': async (call, [className, name, request]) => {
      const from = caller(call);
      const result = await deps.procs.fetch(target(className, name, call.key), request, from);
      if (!result.body) return result.response;
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of result.body) {
        size += chunk.byteLength;
        if (size > deps.maxPayloadBytes)
          throw new ProcyonError(
            'PROCYON_RESPONSE_TOO_LARGE',
            `the instance's response exceeds ${deps.maxPayloadBytes} bytes`,
          );
        chunks.push(chunk);
      }
      return { ...result.response, body: Buffer.concat(chunks) };
    },
  };
  deps.router.register(ops);
}

function instanceOrFunctionNamespace(key: string): string {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new TypeError(`malformed proc key ${key}`);
  return key.slice(0, slash);
}
