/**
 * The operation map: every operation code in an isolate may ask for through `hostCall`
 * (src/runtime/bridge.ts), by name, with its argument tuple and its result. One map, used by every
 * side, so a wrong name or shape is a compile error wherever it is written:
 * - the runtime's callers (`hostCall('kv.get', [binding, key])`, typed by `BridgeOps`);
 * - the isolate host's bridge table (src/sandbox/isolate/bridges), which must have one handler per
 *   `HostOps` operation and one forwarder per `NodeOps` operation;
 * - the node's router (router.ts), whose families (`BindingOps` in src/bindings/rpc.ts, `ProcOps`
 *   in src/procs/rpc.ts) must each register all of theirs.
 *
 * The types describe the honest caller. An isolate is untrusted and a compromised host can send
 * anything, so every handler still checks its arguments at run time.
 *
 * Pure types with no Node.js types: src/runtime is compiled on its own (lib ES2022, no
 * @types/node) and bundled into the isolate prelude, and imports this file directly (not the
 * folder's index, which holds the node's router). It lives under sandbox/ because the sandbox is
 * the lowest layer that has these operations (its isolate driver carries them), below procs/,
 * bindings/ and node/, which all import it; it imports nothing but sandbox/types.ts.
 */
import type { FetchReply, HttpRequestData, HttpResponseData } from '../types.js';

/** One operation: what the caller passes and what it gets back. */
export interface Op<Args extends readonly unknown[], Result> {
  args: Args;
  result: Result;
}

/** An algorithm identifier as plain data: normalised in the isolate, checked by node's WebCrypto. */
export type AlgorithmData = Record<string, unknown>;

/** A CryptoKey as the isolate keeps it; `material` is its JWK, opaque to the isolate. */
export interface KeyRecord {
  type: string;
  algorithm: { name: string };
  usages: string[];
  material: object;
}

export type RedirectMode = 'follow' | 'manual' | 'error';

/** A sub-request as the isolate sends it to the host's fetch bridge. */
export interface FetchRequestData {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
  redirect: RedirectMode;
}

/** A call's timers: one sleep per id, never past the call's deadline. */
export interface TimerOps {
  'timers.sleep': Op<[id: number, ms: number], void>;
  'timers.cancel': Op<[id: number], void>;
}

/** `crypto.getRandomValues` and `crypto.subtle`, run by node's WebCrypto. */
export interface CryptoOps {
  /** The one synchronous operation (`crypto.getRandomValues`). */
  'crypto.random': Op<[size: number], Uint8Array>;
  'crypto.digest': Op<[algorithm: AlgorithmData, data: Uint8Array], ArrayBuffer>;
  'crypto.importKey': Op<
    [format: string, keyData: unknown, algorithm: AlgorithmData, extractable: boolean, usages: string[]],
    KeyRecord
  >;
  'crypto.exportKey': Op<
    [format: string, material: object, keyAlgorithm: AlgorithmData, usages: string[]],
    ArrayBuffer | object
  >;
  'crypto.generateKey': Op<
    [algorithm: AlgorithmData, usages: string[]],
    KeyRecord | { publicKey: KeyRecord; privateKey: KeyRecord }
  >;
  'crypto.sign': Op<
    [algorithm: AlgorithmData, material: object, keyAlgorithm: AlgorithmData, data: Uint8Array],
    ArrayBuffer
  >;
  'crypto.verify': Op<
    [
      algorithm: AlgorithmData,
      material: object,
      keyAlgorithm: AlgorithmData,
      signature: Uint8Array,
      data: Uint8Array,
    ],
    boolean
  >;
  'crypto.encrypt': Op<
    [algorithm: AlgorithmData, material: object, keyAlgorithm: AlgorithmData, data: Uint8Array],
    ArrayBuffer
  >;
  'crypto.decrypt': Op<
    [algorithm: AlgorithmData, material: object, keyAlgorithm: AlgorithmData, data: Uint8Array],
    ArrayBuffer
  >;
}

/** Sub-requests; `id` is the isolate's name for one, for `fetch.abort`. */
export interface FetchOps {
  /** One fetch, redirects followed in the host, each hop checked against the egress policy. */
  'fetch.request': Op<[id: number, request: FetchRequestData], FetchReply>;
  'fetch.abort': Op<[id: number], void>;
}

/** What the isolate host runs itself. */
export interface HostOps extends TimerOps, CryptoOps, FetchOps {}

export interface KvRecord {
  value: Uint8Array;
  metadata: unknown;
}

export interface KvPutOptions {
  /** Absolute expiry. (s since epoch) */
  expiration?: number;
  /** Relative expiry. (s) */
  expirationTtl?: number;
  metadata?: unknown;
}

export interface KvListOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

/** Workers KV's list shape; the cursor is opaque to the caller. */
export interface KvListResult {
  keys: { name: string; expiration?: number; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}

/** KV namespaces and service bindings, named by the calling version's binding names. */
export interface BindingOps {
  'kv.get': Op<[binding: string, key: string], KvRecord | null>;
  'kv.put': Op<[binding: string, key: string, value: Uint8Array, options: KvPutOptions], void>;
  'kv.delete': Op<[binding: string, key: string], void>;
  'kv.list': Op<[binding: string, options: KvListOptions], KvListResult>;
  'service.fetch': Op<[binding: string, request: HttpRequestData], HttpResponseData>;
}

/** A process instance's storage writes, applied in order in one transaction. */
export type StorageWriteOp = { put: string; value: unknown } | { delete: string } | { deleteAll: true };

export interface StorageListOptions {
  prefix?: string;
  /** inclusive */
  start?: string;
  /** exclusive */
  end?: string;
  limit?: number;
  reverse?: boolean;
}

/** A process instance's storage and alarm (the caller's own), and messages to other instances. */
export interface ProcOps {
  'storage.get': Op<[keys: string[]], [string, unknown][]>;
  'storage.list': Op<[options: StorageListOptions], [string, unknown][]>;
  /** Per op: true for a put, whether the key existed for a delete or any key for deleteAll. */
  'storage.write': Op<[ops: StorageWriteOp[]], boolean[]>;
  /** (epoch ms) */
  'alarm.get': Op<[], number | null>;
  'alarm.set': Op<[at: number], null>;
  'alarm.delete': Op<[], null>;
  'procs.fetch': Op<[className: string, name: string, request: HttpRequestData], HttpResponseData>;
  /** Resolves with the instance's return value. */
  'procs.call': Op<[className: string, name: string, message: unknown], unknown>;
  'procs.send': Op<[className: string, name: string, message: unknown], null>;
}

/** What the isolate host forwards to the node: operations that need the store or the invoker. */
export interface NodeOps extends BindingOps, ProcOps {}

/** Everything isolate code may ask for. */
export interface BridgeOps extends HostOps, NodeOps {}

export type HostOpName = keyof HostOps;
export type NodeOpName = keyof NodeOps;
export type BridgeOpName = keyof BridgeOps;
export type OpArgs<K extends BridgeOpName> = BridgeOps[K]['args'];
export type OpResult<K extends BridgeOpName> = BridgeOps[K]['result'];

/** What the host answers the isolate (and the node the host): errors travel as data so their type survives. */
export type BridgeReply =
  { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; code?: string } };
