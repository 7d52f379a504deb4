/**
 * Overlapping calls in one isolate (src/runtime/calls.ts): which call console lines are charged
 * to, and which call token host operations carry, in a handler's synchronous part, after an
 * `await` while calls overlap, with one call in flight, and through a per-call `env` binding.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, fetchResult, withProc } from './harness.js';

const CODE = `
  console.log('top level');
  const waiting = [];
  let keptEnv = null;
  export default { async fetch(request, env) {
    const name = new URL(request.url).pathname.slice(1);
    console.log(name + ' sync');
    setTimeout(() => {}, 1);
    if (name === 'A') {
      keptEnv = env;
      await new Promise((resolve) => waiting.push(resolve));
    } else if (name === 'B') {
      for (const resolve of waiting.splice(0)) resolve();
    } else {
      await null;
      await keptEnv.KV.get('kept');
    }
    console.log(name + ' after');
    setTimeout(() => {}, 1);
    await env.KV.get(name);
    return new Response(name);
  } };`;

describe('attribution of overlapping calls', () => {
  test('console lines and host operations go to the call in its synchronous part, else by the rule', async () => {
    const ops: string[] = [];
    await withProc(
      CODE,
      async (proc) => {
        const first = proc.fetch({ url: 'https://fn.example/A' });
        // While A waits, its id is taken: a second dispatch with it is refused.
        const clash = errorOf(await proc.fetch({}, { callId: 1 }));
        assert.equal(clash.code, 'PROCYON_INTERNAL');
        const second = proc.fetch({ url: 'https://fn.example/B' }, { callId: 2 });
        assert.equal(fetchResult(await second).text, 'B');
        assert.equal(fetchResult(await first).text, 'A');
        // Alone: after an await it is still the only call, and A's kept env falls back to it.
        assert.equal(fetchResult(await proc.fetch({ url: 'https://fn.example/C' }, { callId: 3 })).text, 'C');
        assert.deepEqual(
          proc.logs.map((l) => `${l.call} ${l.msg}`),
          ['0 top level', '1 A sync', '2 B sync', '2 B after', '1 A after', '3 C sync', '3 C after'],
        );
      },
      {
        bindings: { kv: ['KV'], services: [] },
        host: (op, args, token) => {
          ops.push(`${op} ${op === 'kv.get' ? String(args[1]) : ''} ${token}`.replace('  ', ' '));
          return null;
        },
      },
    );
    // A call's timers share one host sleep (its earliest; runtime/timers.ts), so how many sleeps
    // a call armed depends on when they fired: which tokens armed them does not.
    const sleepTokens = [...new Set(ops.filter((o) => o.startsWith('timers.sleep')))].sort();
    assert.deepEqual(sleepTokens, [
      // The global setTimeout after A's await, with B in flight too: any call in flight (0).
      'timers.sleep 0',
      // In the synchronous parts; with one call in flight.
      'timers.sleep 1',
      'timers.sleep 2',
      'timers.sleep 3',
    ]);
    assert.deepEqual(
      ops.filter((o) => !o.startsWith('timers.')).sort(),
      [
        // Through env: always its own call; through an env kept from a call that has ended: the rule.
        'kv.get A 1',
        'kv.get B 2',
        'kv.get C 3',
        'kv.get kept 3',
      ].sort(),
    );
  });

  test('a call whose dispatch returns without a tail is forgotten at once', async () => {
    const code = `export default { fetch(request, env, ctx) {
      ctx.waitUntil(Promise.resolve());
      return new Response('done');
    } };`;
    await withProc(code, async (proc) => {
      const result = await proc.fetch({}, { callId: 7 });
      assert.equal(result.ok && result.waitUntil, undefined);
      // Its id is free again (the host never reuses one, but the prelude holds nothing for it).
      assert.equal(fetchResult(await proc.fetch({}, { callId: 7 })).text, 'done');
      assert.deepEqual(await proc.settle(10, 7), { pending: 0 });
    });
  });
});
