/**
 * The node's answers to isolate hosts' `rpc`s: operations that need what only the node has (the
 * store for KV, the invoker for service bindings). Each operation is checked against the calling
 * version's declared bindings, so even a compromised host can reach only what its function was
 * given.
 */
import { ProcyonError } from '../errors.js';
import type { RpcHandler } from '../sandbox/index.js';

export type RpcOperation = (call: { key: string; activationId: string }, args: unknown[]) => Promise<unknown>;

export class RpcRouter {
  readonly #ops = new Map<string, RpcOperation>();

  register(op: string, fn: RpcOperation): void {
    this.#ops.set(op, fn);
  }

  readonly handle: RpcHandler = async (call, op, args) => {
    const fn = this.#ops.get(op);
    if (!fn) throw new ProcyonError('PROCYON_BAD_REQUEST', `unknown node operation ${op}`);
    return fn(call, args);
  };
}
