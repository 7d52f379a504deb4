/**
 * Bindings (`env.KV.get`, `env.SERVICE.fetch`, ...) live in the node, not in the isolate host:
 * these bridges forward the call over the host's channel, and the node checks it against the
 * calling version's declared bindings (src/bindings/rpc.ts).
 */
import type { BridgeHandler, BridgeTable } from './types.js';

const forward =
  (op: string): BridgeHandler =>
  (ctx, args) =>
    ctx.rpc(op, args);

export const BINDING_BRIDGES: BridgeTable = {
  'kv.get': forward('kv.get'),
  'kv.put': forward('kv.put'),
  'kv.delete': forward('kv.delete'),
  'kv.list': forward('kv.list'),
  'service.fetch': forward('service.fetch'),
};
