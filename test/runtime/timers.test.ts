/**
 * Timers inside an isolate (src/runtime/timers.ts) against the real host bridge: ordering with
 * microtasks, delays, intervals, clearing, argument checks, and that pending sleeps end with the
 * call (src/sandbox/isolate/bridges/timers.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BRIDGES, runBridge, type BridgeContext } from '../../src/sandbox/isolate/bridges/index.js';
import { evalBridged } from './bridged.js';

describe('setTimeout / setInterval', () => {
  test('a 0 ms timeout runs after the current microtasks, in order with other timeouts', async () => {
    const { value } = await evalBridged<string[]>(`
      const order = [];
      setTimeout(() => order.push('timeout 1'), 0);
      setTimeout(() => order.push('timeout 2'));
      Promise.resolve().then(() => order.push('microtask'));
      queueMicrotask(() => order.push('queued microtask'));
      order.push('sync');
      await until(() => order.length === 5);
      return order;
    `);
    assert.deepEqual(value, ['sync', 'microtask', 'queued microtask', 'timeout 1', 'timeout 2']);
  });

  test('timeouts fire by delay, not by the order they were set, and pass extra arguments', async () => {
    const { value } = await evalBridged<unknown[]>(`
      const order = [];
      const start = Date.now();
      setTimeout((tag) => order.push(tag), 60, 'slow');
      setTimeout((tag, n) => order.push(tag + n), 5, 'fast', 1);
      setTimeout(function () { order.push(this === globalThis ? 'this ok' : 'bad this'); }, 30);
      await until(() => order.length === 3);
      return [order, Date.now() - start >= 60];
    `);
    assert.deepEqual(value, [['fast1', 'this ok', 'slow'], true]);
  });

  test('an interval repeats until cleared, also from inside its own callback', async () => {
    const { value } = await evalBridged<number[]>(`
      let ticks = 0;
      const id = setInterval(() => { if (++ticks === 3) clearInterval(id); }, 5);
      let other = 0;
      const id2 = setInterval(() => other++, 10);
      await until(() => ticks === 3 && other > 2);
      clearInterval(id2);
      const afterClear = other;
      await sleep(40); // nothing more may fire
      return [ticks, afterClear > 2 ? 1 : 0, other - afterClear];
    `);
    assert.deepEqual(value, [3, 1, 0]);
  });

  test('clearTimeout stops a timeout; ids are distinct positive integers; unknown ids are ignored', async () => {
    const { value } = await evalBridged<unknown[]>(`
      const fired = [];
      const a = setTimeout(() => fired.push('a'), 10);
      const b = setTimeout(() => fired.push('b'), 10);
      const c = setInterval(() => fired.push('c'), 10);
      clearTimeout(a);
      clearTimeout(c); // timeouts and intervals share one id space
      for (const id of [undefined, null, 0, -1, 1e9, 'abc', {}, a]) { clearTimeout(id); clearInterval(id); }
      await until(() => fired.includes('b'));
      await sleep(30); // the cleared ones may not fire
      return [fired, [a, b, c].every((id) => Number.isInteger(id) && id > 0), new Set([a, b, c]).size];
    `);
    assert.deepEqual(value, [['b'], true, 3]);
  });

  test('a string handler or a non-function is a TypeError', async () => {
    const { value } = await evalBridged<string[]>(`
      return [
        thrown(() => setTimeout('globalThis.evaluated = 1', 0)),
        thrown(() => setInterval('1', 0)),
        thrown(() => setTimeout({}, 0)),
        thrown(() => setTimeout()),
      ];
    `);
    assert.match(value[0] as string, /^TypeError: setTimeout: a string handler/);
    assert.match(value[1] as string, /^TypeError: setInterval: a string handler/);
    assert.equal(value[2], 'TypeError: setTimeout: the handler must be a function');
    assert.equal(value[3], 'TypeError: setTimeout: the handler must be a function');
  });

  test('negative, NaN and huge delays: negative and NaN mean 0, huge ones never fire within the call', async () => {
    const { value } = await evalBridged<string[]>(`
      const fired = [];
      setTimeout(() => fired.push('negative'), -50);
      setTimeout(() => fired.push('nan'), NaN);
      setTimeout(() => fired.push('huge'), 2 ** 40);
      await until(() => fired.length >= 2);
      await sleep(20); // the huge one may not fire
      return fired;
    `);
    assert.deepEqual(value, ['negative', 'nan']);
  });

  test('an exception in a callback is reported as Uncaught and later timers still run', async () => {
    const { value, logs } = await evalBridged<string[]>(`
      const fired = [];
      setTimeout(() => { throw new RangeError('boom'); }, 0);
      setTimeout(() => fired.push('after'), 5);
      await until(() => fired.length > 0);
      return fired;
    `);
    assert.deepEqual(value, ['after']);
    assert.ok(
      logs.some((l) => l.level === 'error' && /Uncaught RangeError: boom/.test(l.msg)),
      JSON.stringify(logs),
    );
  });

  test('scheduler.wait resolves after the delay and rejects with the signal reason', async () => {
    const { value } = await evalBridged<unknown[]>(`
      const start = Date.now();
      await scheduler.wait(25);
      const waited = Date.now() - start;
      const controller = new AbortController();
      const pending = scheduler.wait(10_000, { signal: controller.signal });
      controller.abort();
      return [waited >= 25, await rejected(() => pending),
        await rejected(() => scheduler.wait(1, { signal: AbortSignal.abort(new TypeError('early')) }))];
    `);
    assert.deepEqual(value, [true, 'AbortError: This operation was aborted', 'TypeError: early']);
  });

  test('more than 10000 pending timers is a RangeError', async () => {
    const { value } = await evalBridged<string>(`
      for (let i = 0; i < 10_000; i++) setTimeout(() => {}, 60_000);
      return thrown(() => setTimeout(() => {}, 1));
    `);
    assert.equal(value, 'RangeError: setTimeout: more than 10000 timers pending');
  });
});

describe('timers bridge (host side)', () => {
  function context(deadlineMs: number): { ctx: BridgeContext; end: () => void } {
    const abort = new AbortController();
    const ctx: BridgeContext = {
      activationId: 'a',
      namespace: 'ns',
      fn: 'fn',
      version: 'v',
      key: 'ns/fn@v',
      deadline: Date.now() + deadlineMs,
      signal: abort.signal,
      egress: { allow: [], deny: [], timeoutMs: 1000, maxResponseBytes: 1024 },
      rpc: () => Promise.reject(new Error('none')),
      log: () => undefined,
    };
    return { ctx, end: () => abort.abort() };
  }

  test('a pending sleep is refused with "the invocation has ended" when the call ends', async () => {
    const { ctx, end } = context(5_000);
    const sleep = runBridge(BRIDGES, ctx, 'timers.sleep', [1, 1_000]);
    // Ends the call while the sleep is pending (1 s: far from done, whatever the machine's load).
    setTimeout(end, 10);
    assert.deepEqual(await sleep, {
      ok: false,
      error: { name: 'Error', message: 'the invocation has ended' },
    });
    // After the end no new sleep starts.
    assert.deepEqual(await runBridge(BRIDGES, ctx, 'timers.sleep', [2, 0]), {
      ok: false,
      error: { name: 'Error', message: 'the invocation has ended' },
    });
    // Between calls the proc has no context at all.
    assert.deepEqual(await runBridge(BRIDGES, null, 'timers.sleep', [3, 0]), {
      ok: false,
      error: { name: 'Error', message: 'the invocation has ended' },
    });
  });

  test('a sleep that would end after the deadline does not resolve early; cancel resolves it', async () => {
    const { ctx, end } = context(50);
    let settled = false;
    const late = Promise.resolve(runBridge(BRIDGES, ctx, 'timers.sleep', [1, 200])).then((r) => {
      settled = true;
      return r;
    });
    const onTime = await runBridge(BRIDGES, ctx, 'timers.sleep', [2, 10]);
    assert.deepEqual(onTime, { ok: true, value: undefined });
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(settled, false, 'a sleep past the deadline must not resolve before the call ends');
    end();
    assert.equal(((await late) as { ok: boolean }).ok, false);

    const second = context(5_000);
    const cancelled = runBridge(BRIDGES, second.ctx, 'timers.sleep', [7, 60_000]);
    assert.deepEqual(runBridge(BRIDGES, second.ctx, 'timers.cancel', [7]), { ok: true, value: undefined });
    assert.deepEqual(await cancelled, { ok: true, value: undefined });
    second.end();
  });
});
