/**
 * Public entry of the operation map (map.ts) and the node's router of host `rpc`s (router.ts).
 * src/runtime imports map.ts directly, not this: it is compiled on its own, and the router is node code.
 */
export type * from './map.js';
export { RpcRouter, type NodeOpHandler, type NodeOpTable, type RpcCaller } from './router.js';
