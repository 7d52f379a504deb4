/**
 * Per-call state of a bridge family (pending timers, in-flight fetches), keyed by the call's
 * BridgeContext so it is dropped with the call. One abort listener per call and family cleans
 * up, rather than one per operation (thousands of timers would each add a listener otherwise).
 */
import type { BridgeContext } from './types.js';

/** The error a bridge operation still pending when its call ends rejects with. */
export function invocationEnded(): Error {
  return new Error('the invocation has ended');
}

/**
 * Returns a getter of `create(ctx)`, made on first use per call; `dispose` runs once when the call
 * ends (right away if it already has).
 */
export function perCall<T>(
  create: (ctx: BridgeContext) => T,
  dispose: (state: T) => void,
): (ctx: BridgeContext) => T {
  const states = new WeakMap<BridgeContext, T>();
  return (ctx) => {
    let state = states.get(ctx);
    if (state === undefined) {
      const made = create(ctx);
      state = made;
      states.set(ctx, made);
      if (ctx.signal.aborted) dispose(made);
      else ctx.signal.addEventListener('abort', () => dispose(made), { once: true });
    }
    return state;
  };
}
