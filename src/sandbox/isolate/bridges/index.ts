/**
 * The bridge table: every operation an isolate may ask its host for, by name. Families add
 * their table here (one line each); an unknown name is refused.
 */
import { BINDING_BRIDGES } from './bindings.js';
import { CRYPTO_BRIDGES } from './crypto.js';
import { FETCH_BRIDGES } from './fetch.js';
import { TIMER_BRIDGES } from './timers.js';
import { errorReply, type BridgeContext, type BridgeReply, type BridgeTable } from './types.js';

export type { BridgeContext, BridgeHandler, BridgeReply, BridgeTable, EgressLimits } from './types.js';
export { errorReply, replyError } from './types.js';
export { EGRESS_PATTERN_SOURCE, parseEgressPattern } from './egress.js';

export const BRIDGES: BridgeTable = {
  ...BINDING_BRIDGES,
  ...TIMER_BRIDGES,
  ...CRYPTO_BRIDGES,
  ...FETCH_BRIDGES,
};

/**
 * Runs `op` for the current call. Returns the reply directly for synchronous handlers (so the
 * isolate's `applySync` gets a value) and a promise of it for asynchronous ones.
 */
export function runBridge(
  table: BridgeTable,
  ctx: BridgeContext | null,
  op: unknown,
  args: unknown,
): BridgeReply | Promise<BridgeReply> {
  const handler = typeof op === 'string' && Object.hasOwn(table, op) ? table[op] : undefined;
  if (!handler)
    return { ok: false, error: { name: 'TypeError', message: `unknown host operation ${String(op)}` } };
  if (!ctx) return { ok: false, error: { name: 'Error', message: 'the invocation has ended' } };
  try {
    const value = handler(ctx, Array.isArray(args) ? args : []);
    if (value instanceof Promise) return value.then((v: unknown) => ({ ok: true, value: v }), errorReply);
    return { ok: true, value };
  } catch (err) {
    return errorReply(err);
  }
}
