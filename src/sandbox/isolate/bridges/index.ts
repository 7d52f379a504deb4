/**
 * The bridge table: every operation an isolate may ask its host for, by name. Families add
 * their table here (one line each); the type makes it complete for the operation map
 * (src/sandbox/ops/map.ts); an unknown name is refused.
 */
import { BINDING_BRIDGES } from './bindings.js';
import { CRYPTO_BRIDGES } from './crypto.js';
import { FETCH_BRIDGES } from './fetch.js';
import { TIMER_BRIDGES } from './timers.js';
import type { BridgeOpName, BridgeReply } from '../../ops/index.js';
import { errorReply, type BridgeContext, type BridgeTable } from './types.js';

export type { BridgeContext, BridgeHandler, BridgeTable } from './types.js';
export type { BridgeReply } from '../../ops/index.js';
export { errorReply, replyError } from './types.js';

export const BRIDGES: BridgeTable<BridgeOpName> = {
  ...BINDING_BRIDGES,
  ...TIMER_BRIDGES,
  ...CRYPTO_BRIDGES,
  ...FETCH_BRIDGES,
};

/** Any operation's handler, for the lookup by a name that came from the isolate. */
type AnyBridgeHandler = (ctx: BridgeContext, args: never) => unknown;

/**
 * Runs `op` for the current call. Returns the reply directly for synchronous handlers (so the
 * isolate's `applySync` gets a value) and a promise of it for asynchronous ones.
 */
export function runBridge(
  table: BridgeTable<BridgeOpName>,
  ctx: BridgeContext | null,
  op: unknown,
  args: unknown,
): BridgeReply | Promise<BridgeReply> {
  const handler: AnyBridgeHandler | undefined =
    typeof op === 'string' && Object.hasOwn(table, op) ? table[op as BridgeOpName] : undefined;
  if (!handler)
    return { ok: false, error: { name: 'TypeError', message: `unknown host operation ${String(op)}` } };
  if (!ctx) return { ok: false, error: { name: 'Error', message: 'the invocation has ended' } };
  try {
    // The one untyped step: what the isolate sent is untrusted, and the handler checks it.
    const value = handler(ctx, (Array.isArray(args) ? args : []) as never);
    if (value instanceof Promise) return value.then((v: unknown) => ({ ok: true, value: v }), errorReply);
    return { ok: true, value };
  } catch (err) {
    return errorReply(err);
  }
}
