/**
 * Calls from the isolate into its isolate host: the one door through which host-backed globals
 * (timers, crypto, fetch, bindings) reach the outside. The host hands a reference to its
 * dispatcher to `init`; arguments and results are copied (structured clone), never shared, so no
 * host object ever becomes reachable from user code.
 */
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

const state: { ref: HostCallRef | null } = { ref: null };

export function attachHostCall(ref: HostCallRef | undefined): void {
  if (ref) state.ref = ref;
}

function ref(): HostCallRef {
  if (!state.ref) throw new Error('the host bridge is not attached');
  return state.ref;
}

/** Runs `op` in the host; rejects with the host's error (`{ name, message }` rebuilt as an Error). */
export async function hostCall(op: string, args: unknown[]): Promise<unknown> {
  const reply = (await ref().apply(undefined, [op, args], {
    arguments: { copy: true },
    result: { promise: true, copy: true },
  })) as BridgeReply;
  return unwrap(reply);
}

/** The synchronous form, for APIs the web makes synchronous (`crypto.getRandomValues`). */
export function hostCallSync(op: string, args: unknown[]): unknown {
  return unwrap(
    ref().applySync(undefined, [op, args], {
      arguments: { copy: true },
      result: { copy: true },
    }) as BridgeReply,
  );
}

/** What the host answers: errors travel as data so their type survives the boundary. */
export type BridgeReply =
  { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };

const ERROR_TYPES: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SyntaxError,
};

function unwrap(reply: BridgeReply): unknown {
  if (reply.ok) return reply.value;
  const { name, message } = reply.error;
  const ctor = ERROR_TYPES[name];
  if (ctor) throw new ctor(message);
  // Web APIs report most failures as DOMExceptions named for the failure (OperationError, ...).
  if (name !== 'Error') throw new DOMException(message, name);
  throw new Error(message);
}
