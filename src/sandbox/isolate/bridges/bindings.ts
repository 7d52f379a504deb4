/**
 * Bindings (`env.KV.get`, `env.SERVICE.fetch`, ...) live in the node, not in the isolate host:
 * these bridges forward the call over the host's channel, and the node checks it against the
 * calling version's declared bindings (src/bindings/rpc.ts).
 */
import type { NodeOpName } from '../../ops/index.js';
import type { BridgeHandler, BridgeTable } from './types.js';

const forward =
  <K extends NodeOpName>(op: K): BridgeHandler<K> =>
  (ctx, args) =>
    ctx.rpc(op, args);

/** One forwarder per node operation of the map. */
export const BINDING_BRIDGES: BridgeTable<NodeOpName> = {
  'kv.get': forward('kv.get'),
  'kv.put': forward('kv.put'),
  'kv.delete': forward('kv.delete'),
  'kv.list': forward('kv.list'),
  'service.fetch': forward('service.fetch'),
  // Process instances: their storage and alarms, and messages to other instances (docs/processes.md).
  'storage.get': forward('storage.get'),
  'storage.list': forward('storage.list'),
  'storage.write': forward('storage.write'),
  'alarm.get': forward('alarm.get'),
  'alarm.set': forward('alarm.set'),
  'alarm.delete': forward('alarm.delete'),
  'procs.fetch': forward('procs.fetch'),
  'procs.call': forward('procs.call'),
  'procs.send': forward('procs.send'),
};
