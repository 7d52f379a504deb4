/**
 * The `env` of a function: plain vars, secrets (strings as well), KV namespaces and service
 * bindings, and (not enumerable) `procs`, the process stubs of procs.ts. KV and service calls go
 * through the host bridge to the node, which checks each one against the version's declared
 * bindings.
 *
 * A function with KV or service bindings gets an `env` per call whose binding objects carry the
 * call's id, so what they do is attributed to that call exactly (a service call becomes a child of
 * that call's activation), even when several calls overlap in the isolate and the code runs after
 * an `await` (see calls.ts). An `env` kept from an earlier call still works: its operations are
 * then attributed by the general rule. Without such bindings `env` holds only strings (and
 * `procs`, which carries no per-call state), and one frozen object serves every call.
 *
 * Snapshot rule (see index.ts): this module runs while the snapshot is made, so no one-letter
 * module-level names, one-character string literals or one-character property keys.
 */
import type { KvListOptions, KvPutOptions } from '../sandbox/ops/map.js';
import { callToken, hostCallForCall } from './bridge.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { ProcsBinding, requestToWire, responseFromWire, withProcs } from './procs.js';
import type { Request } from './request.js';
import { Response } from './response.js';

export interface EnvMeta {
  vars: Record<string, string>;
  secrets?: Record<string, string>;
  bindings?: { kv: string[]; services: string[] };
}

type KvType = 'text' | 'json' | 'arrayBuffer' | 'stream';

function kvType(options: unknown): KvType {
  const type = typeof options === 'string' ? options : (options as { type?: unknown } | undefined)?.type;
  if (type === undefined) return 'text';
  if (type === 'text' || type === 'json' || type === 'arrayBuffer' || type === 'stream') return type;
  throw new TypeError(`Unknown KV response type "${String(type)}"`);
}

function decodeKv(bytes: Uint8Array, type: KvType): unknown {
  if (type === 'arrayBuffer')
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (type === 'stream') return new Response(bytes).body;
  const text = new TextDecoder().decode(bytes);
  return type === 'json' ? JSON.parse(text) : text;
}

async function toBytes(value: unknown): Promise<Uint8Array> {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { getReader?: unknown }).getReader === 'function'
  ) {
    return new Uint8Array(
      await new Response(value as ConstructorParameters<typeof Response>[0]).arrayBuffer(),
    );
  }
  throw new TypeError('KV put() accepts a string, ArrayBuffer, ArrayBufferView or ReadableStream');
}

/** A Workers-KV-compatible namespace bound under `binding`, for call `callId`. */
export class KVNamespace {
  readonly #binding: string;
  readonly #callId: number;

  constructor(binding: string, callId: number) {
    this.#binding = binding;
    this.#callId = callId;
  }

  async get(key: string, options?: unknown): Promise<unknown> {
    const type = kvType(options);
    const found = await hostCallForCall('kv.get', [this.#binding, String(key)], callToken(this.#callId));
    return found === null ? null : decodeKv(found.value, type);
  }

  async getWithMetadata(key: string, options?: unknown): Promise<{ value: unknown; metadata: unknown }> {
    const type = kvType(options);
    const found = await hostCallForCall('kv.get', [this.#binding, String(key)], callToken(this.#callId));
    return found === null
      ? { value: null, metadata: null }
      : { value: decodeKv(found.value, type), metadata: found.metadata ?? null };
  }

  async put(
    key: string,
    value: unknown,
    options?: { expiration?: number; expirationTtl?: number; metadata?: unknown },
  ): Promise<void> {
    const opts: KvPutOptions = {};
    if (options?.expiration !== undefined) opts.expiration = Number(options.expiration);
    if (options?.expirationTtl !== undefined) opts.expirationTtl = Number(options.expirationTtl);
    if (options?.metadata !== undefined) opts.metadata = options.metadata;
    const bytes = await toBytes(value);
    await hostCallForCall('kv.put', [this.#binding, String(key), bytes, opts], callToken(this.#callId));
  }

  async delete(key: string): Promise<void> {
    await hostCallForCall('kv.delete', [this.#binding, String(key)], callToken(this.#callId));
  }

  async list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<unknown> {
    const opts: KvListOptions = {};
    if (options?.prefix !== undefined) opts.prefix = String(options.prefix);
    if (options?.limit !== undefined) opts.limit = Number(options.limit);
    if (options?.cursor !== undefined) opts.cursor = String(options.cursor);
    return hostCallForCall('kv.list', [this.#binding, opts], callToken(this.#callId));
  }
}

/** Another function, called in the node without an HTTP round trip: `env.AUTH.fetch(request)`. */
export class ServiceBinding {
  readonly #binding: string;
  readonly #callId: number;

  constructor(binding: string, callId: number) {
    this.#binding = binding;
    this.#callId = callId;
  }

  async fetch(...args: ConstructorParameters<typeof Request>): Promise<Response> {
    const wire = await requestToWire(args);
    const reply = await hostCallForCall('service.fetch', [this.#binding, wire], callToken(this.#callId));
    return responseFromWire(reply);
  }
}

export type EnvFor = (callId: number) => Readonly<Record<string, unknown>>;

/** How each call gets its `env`: one shared object, or one per call when there are bindings. */
export function envFactory(meta: EnvMeta): EnvFor {
  const strings: Record<string, unknown> = { ...meta.vars, ...(meta.secrets ?? {}) };
  const kv = meta.bindings?.kv ?? [];
  const services = meta.bindings?.services ?? [];
  if (kv.length === 0 && services.length === 0) {
    const shared = Object.freeze(withProcs({ ...strings }, new ProcsBinding(undefined)));
    return () => shared;
  }
  return (callId) => {
    const env: Record<string, unknown> = withProcs({ ...strings }, new ProcsBinding(callId));
    for (const name of kv) env[name] = new KVNamespace(name, callId);
    for (const name of services) env[name] = new ServiceBinding(name, callId);
    return Object.freeze(env);
  };
}
