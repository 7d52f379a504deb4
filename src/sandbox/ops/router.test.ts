/**
 * The operation map as a contract. At compile time (`npm run typecheck`): a wrong operation name,
 * argument shape or result, or a family table missing one of its operations, does not compile on
 * the node's router, the host's bridge table or the forwarding to the node; each
 * `@ts-expect-error` below fails the typecheck if its line compiles. At run time: the router still
 * refuses what only the types stop, since a host is untrusted. (src/runtime/bridge.type-test.ts
 * does the same for the isolate's `hostCall`.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../../errors.js';
import type { BridgeContext, BridgeTable } from '../isolate/bridges/index.js';
import type { BindingOps, TimerOps } from './map.js';
import { RpcRouter, type NodeOpTable } from './router.js';

const CALLER = { key: 'ns/fn@v1', activationId: 'act-1' };

/** Never called: the lines the compiler must refuse. */
export function refusedAtCompileTime(router: RpcRouter, ctx: BridgeContext): void {
  router.register({
    // @ts-expect-error: no such operation
    'kv.gett': async () => null,
  });
  // @ts-expect-error: alarm.set answers null, not a number
  router.register({ 'alarm.set': async () => 42 });
  router.register({
    // @ts-expect-error: storage.get takes a list of keys
    'storage.get': async (_call, [keys]: [string]) => [[keys, null]],
  });
  // @ts-expect-error: the family's table lacks kv.put, kv.delete, kv.list and service.fetch
  const bindings: NodeOpTable<keyof BindingOps> = { 'kv.get': async () => null };
  // @ts-expect-error: the host's timer table lacks timers.cancel
  const timers: BridgeTable<keyof TimerOps> = { 'timers.sleep': async () => undefined };
  // @ts-expect-error: no such node operation
  void ctx.rpc('kv.gett', ['KV', 'k']);
  // @ts-expect-error: kv.get takes (binding, key)
  void ctx.rpc('kv.get', ['KV']);
  // @ts-expect-error: timers run in the host, they are not forwarded to the node
  void ctx.rpc('timers.sleep', [1, 10]);
  void [bindings, timers];
}

describe('RpcRouter', () => {
  it('runs the registered handler with what the host sent', async () => {
    const router = new RpcRouter();
    const seen: unknown[] = [];
    router.register({
      'alarm.set': async (call, [at]) => {
        seen.push(call, at);
        return null;
      },
    });
    assert.equal(await router.handle(CALLER, 'alarm.set', [123]), null);
    assert.deepEqual(seen, [CALLER, 123]);
  });

  it('refuses an operation nobody registered, as a bad request', async () => {
    const router = new RpcRouter();
    router.register({ 'alarm.get': async () => null });
    for (const op of ['kv.gett', 'alarm.set', 'timers.sleep', 'constructor', '__proto__']) {
      await assert.rejects(
        router.handle(CALLER, op, []),
        (err: unknown) => err instanceof ProcyonError && err.code === 'PROCYON_BAD_REQUEST',
        op,
      );
    }
  });
});
