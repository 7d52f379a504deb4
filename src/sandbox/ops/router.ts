/**
 * The node's answers to isolate hosts' `rpc`s: operations that need what only the node has (the
 * store for KV and process storage, the invoker for service bindings and process messages). Each
 * operation is checked against the calling version's declared bindings, so even a compromised host
 * can reach only what its function was given.
 *
 * Here, next to the operation map, rather than in node/: procs/ and bindings/ register their
 * operations on it, and they sit below node/.
 */
import { ProcyonError } from '../../errors.js';
import type { RpcHandler } from '../types.js';
import type { NodeOpName, OpArgs, OpResult } from './map.js';

/** Who asks: the calling proc's key and the activation the operation belongs to. */
export interface RpcCaller {
  key: string;
  activationId: string;
}

export type NodeOpHandler<K extends NodeOpName> = (call: RpcCaller, args: OpArgs<K>) => Promise<OpResult<K>>;

/**
 * Handlers of operations `K`, one each. A family writes its table as `NodeOpTable<keyof ProcOps>`,
 * so leaving one of its operations out is a compile error.
 */
export type NodeOpTable<K extends NodeOpName> = { readonly [P in K]: NodeOpHandler<P> };

/** Any operation's handler, for the lookup: what arrives from a host is checked by the handler. */
type AnyNodeOpHandler = (call: RpcCaller, args: never) => Promise<unknown>;

export class RpcRouter {
  readonly #ops = new Map<string, AnyNodeOpHandler>();

  /** Adds the handlers of `ops` (a name outside the map, or a handler of the wrong shape, does not compile). */
  register<K extends NodeOpName>(ops: NodeOpTable<K>): void {
    for (const [op, fn] of Object.entries<AnyNodeOpHandler>(ops)) this.#ops.set(op, fn);
  }

  readonly handle: RpcHandler = async (call, op, args) => {
    const fn = this.#ops.get(op);
    if (!fn) throw new ProcyonError('PROCYON_BAD_REQUEST', `unknown node operation ${op}`);
    // The one untyped step: the handler validates what an untrusted host sent.
    return fn(call, args as never);
  };
}
