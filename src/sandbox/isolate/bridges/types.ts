/**
 * Host-side bridges: what code in an isolate may ask its isolate host to do (timers, crypto,
 * fetch, bindings). Each bridge is a named operation; the isolate reaches them only through the
 * prelude's `hostCall(op, args)` (src/runtime/bridge.ts), with arguments and results copied.
 * Names, arguments and results are those of the operation map (src/sandbox/ops/map.ts).
 */
import type { EgressLimits } from '../../egress/index.js';
import type { LogLine } from '../../types.js';
import type { BridgeOpName, BridgeReply, NodeOpName, OpArgs, OpResult } from '../../ops/index.js';

/**
 * An error as a bridge reply. A Procyon error code (`PROCYON_MAILBOX_FULL` from the node, say)
 * travels with it, so isolate code can tell a full mailbox from a bug by `err.code`.
 */
export function errorReply(err: unknown): Extract<BridgeReply, { ok: false }> {
  if (!(err instanceof Error)) return { ok: false, error: { name: 'Error', message: String(err) } };
  const code = (err as { code?: unknown }).code;
  return {
    ok: false,
    error: {
      name: err.name === 'ProcyonError' ? 'Error' : err.name,
      message: err.message,
      ...(typeof code === 'string' && code.startsWith('PROCYON_') ? { code } : {}),
    },
  };
}

/** The error a failed reply stands for, code included (the inverse of `errorReply`). */
export function replyError(error: { name: string; message: string; code?: string }): Error {
  return Object.assign(
    new Error(error.message),
    { name: error.name },
    error.code ? { code: error.code } : {},
  );
}

/**
 * The call a bridge operation runs on behalf of. When calls overlap in one isolate and the prelude
 * cannot tell which of them the operation is for, it is the proc's BusyScope instead, which stands
 * for all the calls in flight (src/sandbox/isolate/proc.ts explains the rule).
 */
export interface BridgeContext {
  activationId: string;
  namespace: string;
  fn: string;
  version: string;
  /** The version key, `ns/fn@version`. */
  key: string;
  /** When the call's time is up. (epoch ms) */
  deadline: number;
  /** Aborted when the call ends (finished, timed out, or its isolate was discarded). */
  signal: AbortSignal;
  /** Where `fetch` may go and its limits: the function's allow list plus the node's settings. */
  egress: EgressLimits;
  /** Asks the node (KV, service bindings, process storage); rejects with the node's error. */
  rpc<K extends NodeOpName>(op: K, args: OpArgs<K>): Promise<OpResult<K>>;
  log(level: LogLine['level'], msg: string): void;
}

/**
 * The handler of operation `K`. Its arguments are typed as the honest isolate sends them; it still
 * checks them, since the isolate is untrusted. Synchronous handlers serve the few web APIs that
 * are synchronous (`crypto.getRandomValues`).
 */
export type BridgeHandler<K extends BridgeOpName> = (
  ctx: BridgeContext,
  args: OpArgs<K>,
) => OpResult<K> | Promise<OpResult<K>>;

/**
 * Handlers of operations `K`, one each: a family writes its table as `BridgeTable<keyof TimerOps>`, so leaving out one of its operations, or naming one outside the map, is a compile error.
 */
export type BridgeTable<K extends BridgeOpName> = { readonly [P in K]: BridgeHandler<P> };
