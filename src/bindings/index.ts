/**
 * The node side of `env` bindings: KV namespaces (kv.ts) and the node operations behind KV and
 * service bindings that isolate hosts may call (rpc.ts).
 */
export { KV_LIMITS, KvService, type KvTarget } from './kv.js';
export { MAX_SERVICE_DEPTH, registerBindingOps, type BindingDeps } from './rpc.js';
