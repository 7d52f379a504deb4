/**
 * Calls from the isolate into its isolate host: the one door through which host-backed globals
 * (timers, crypto, fetch, bindings) reach the outside. The host hands a reference to its
 * dispatcher to `init`; arguments and results are copied (structured clone), never shared, so no
 * host object ever becomes reachable from user code. Each operation carries the token of the call
 * it is made for (calls.ts), which the host turns into that call's deadline, limits and abort signal.
 * Operation names, arguments and results are those of the operation map (src/sandbox/ops/map.ts).
 */
import type { BridgeOpName, BridgeReply, OpArgs, OpResult } from '../sandbox/ops/map.js';
import type { CallRegistry } from './calls.js';
import { DOMException } from './dom-exception.js';

/** The isolated-vm Reference the host passes to init, as seen from inside the isolate. */
export interface HostCallRef {
  apply(
    receiver: undefined,
    args: unknown[],
    options: { arguments: { copy: true }; result: { promise: true; copy: true } },
  ): Promise<unknown>;
  applySync(
    receiver: undefined,
    args: unknown[],
    options: { arguments: { copy: true }; result: { copy: true } },
  ): unknown;
}

const state: { ref: HostCallRef | null; calls: CallRegistry | null } = { ref: null, calls: null };

export function attachHostCall(ref: HostCallRef | undefined, calls: CallRegistry): void {
  if (ref) state.ref = ref;
  state.calls = calls;
}

/**
 * The token for operations made now (calls.ts); `explicit` is the call a per-call object belongs
 * to. Operations that must reach the same host state as an earlier one (cancelling a timer,
 * aborting a fetch) reuse that one's token.
 */
export function callToken(explicit?: number): number {
  return state.calls === null ? 0 : state.calls.token(explicit);
}

function ref(): HostCallRef {
  // Cannot happen: the host attaches the bridge in init(), before any user code runs.
  if (!state.ref) throw new Error('the host bridge is not attached');
  return state.ref;
}

/**
 * Runs `op` in the host for the call of `token` (by default the one the code running now belongs
 * to); rejects with the host's error (`{ name, message }` rebuilt as an Error).
 */
export async function hostCall<K extends BridgeOpName>(
  op: K,
  args: OpArgs<K>,
  token = callToken(),
): Promise<OpResult<K>> {
  const reply = (await ref().apply(undefined, [op, args, token], {
    arguments: { copy: true },
    result: { promise: true, copy: true },
  })) as BridgeReply;
  return unwrap(reply);
}

/**
 * `hostCall` for operations whose answer only user code awaits (fetch, KV, service bindings,
 * crypto.subtle): if the call ended while the host worked (it threw, or its tail ended), the
 * answer is dropped and the promise never settles, so the code awaiting it (a failed call's
 * `fetch().then(...)`) never runs into the next call. Not for the runtime's own bookkeeping
 * (storage writes, the process gates), which must hear every answer.
 */
export async function hostCallForCall<K extends BridgeOpName>(
  op: K,
  args: OpArgs<K>,
  token = callToken(),
): Promise<OpResult<K>> {
  const calls = state.calls;
  const issuedLive = calls !== null && calls.live(token);
  const ended = (): boolean => issuedLive && !calls.live(token);
  let value: OpResult<K>;
  try {
    value = await hostCall(op, args, token);
  } catch (err) {
    if (ended()) return new Promise<never>(() => undefined);
    throw err;
  }
  if (ended()) return new Promise<never>(() => undefined);
  return value;
}

/** The synchronous form, for APIs the web makes synchronous (`crypto.getRandomValues`). */
export function hostCallSync<K extends BridgeOpName>(op: K, args: OpArgs<K>): OpResult<K> {
  return unwrap(
    ref().applySync(undefined, [op, args, callToken()], {
      arguments: { copy: true },
      result: { copy: true },
    }) as BridgeReply,
  );
}

const ERROR_TYPES: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SyntaxError,
};

function unwrap(reply: BridgeReply): unknown {
  if (reply.ok) return reply.value;
  const { name, message, code } = reply.error;
  // A Procyon error from the node (a full mailbox, a storage limit): `code` says which.
  if (code !== undefined) throw Object.assign(new Error(message), { code });
  const ctor = ERROR_TYPES[name];
  if (ctor) throw new ctor(message);
  // Web APIs report most failures as DOMExceptions named for the failure (OperationError, ...).
  if (name !== 'Error') throw new DOMException(message, name);
  throw new Error(message);
}
