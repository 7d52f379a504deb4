/**
 * The smaller globals: performance, navigator, queueMicrotask and reportError, URLPattern, and the
 * lazily defined globals' behaviour (replaceable before first use, not enumerable).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude, fetchResult, withProc } from './harness.js';

describe('performance and navigator', () => {
  test('performance.now() is monotonic from a per-isolate time origin; navigator.userAgent is Procyon', async () => {
    const started = Date.now();
    const out = await evalPrelude(`
      const first = performance.now();
      const samples = [];
      for (let i = 0; i < 2000; i++) samples.push(performance.now());
      const realNow = Date.now;
      Date.now = () => 0; // a wall clock that jumps back does not make now() go backwards
      const afterJump = performance.now();
      Date.now = realNow;
      return [typeof first, first >= 0 && first < 1000, samples.every((v, i) => i === 0 || v >= samples[i - 1]),
        afterJump >= samples[samples.length - 1], performance.timeOrigin, JSON.stringify(performance) === JSON.stringify({ timeOrigin: performance.timeOrigin }),
        navigator.userAgent, Object.prototype.toString.call(performance), Object.prototype.toString.call(navigator)];
    `);
    const [kind, small, monotonic, noJump, origin, json, agent, tag, navTag] = out as unknown[];
    assert.deepEqual(
      [kind, small, monotonic, noJump, json, agent, tag, navTag],
      ['number', true, true, true, true, 'Procyon', '[object Performance]', '[object Navigator]'],
    );
    // The origin is this isolate's, not the snapshot's.
    assert.ok(typeof origin === 'number' && origin >= started && origin <= Date.now(), String(origin));
  });
});

describe('queueMicrotask and reportError', () => {
  test('microtasks run in order; what they throw and what reportError gets is logged as uncaught', async () => {
    const code = `
      export default { async fetch() {
        const order = [];
        queueMicrotask(() => order.push(1));
        queueMicrotask(() => { throw new TypeError('in a microtask'); });
        queueMicrotask(() => order.push(2));
        reportError(new SyntaxError('reported'));
        await new Promise((resolve) => queueMicrotask(resolve));
        let bad;
        try { queueMicrotask('nope'); } catch (e) { bad = e.message; }
        return Response.json([order, bad]);
      } };`;
    await withProc(code, async (proc) => {
      assert.deepEqual(JSON.parse(fetchResult(await proc.fetch()).text), [
        [1, 2],
        'queueMicrotask: callback is not a function',
      ]);
      const errors = proc.logs.filter((l) => l.level === 'error').map((l) => l.msg.split('\n')[0]);
      assert.deepEqual(errors, ['Uncaught SyntaxError: reported', 'Uncaught TypeError: in a microtask']);
    });
  });
});

describe('URLPattern', () => {
  test('matches and extracts groups; invalid patterns throw TypeError', async () => {
    const out = await evalPrelude(`
      const pattern = new URLPattern({ pathname: '/books/:id(\\\\d+)/:rest*' });
      const hit = pattern.exec('https://shop.example/books/42/a/b?x=1');
      const base = new URLPattern('/api/*', 'https://api.example');
      return [pattern.test('https://shop.example/books/abc'), hit.pathname.groups, base.test('https://api.example/api/v1/users'),
        base.test('https://other.example/api/v1'), thrown(() => new URLPattern({ pathname: '/(' })).split(':')[0], URLPattern.name];
    `);
    assert.deepEqual(out, [false, { id: '42', rest: 'a/b' }, true, false, 'TypeError', 'URLPattern']);
  });
});

describe('lazily defined globals', () => {
  test('user code may replace or delete them before first use; they are not enumerable', async () => {
    const out = await evalPrelude(`
      globalThis.ReadableStream = 'mine';
      delete globalThis.Blob;
      const keys = Object.keys(globalThis);
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'FormData');
      const form = FormData;
      const after = Object.getOwnPropertyDescriptor(globalThis, 'FormData');
      // The runtime keeps its own classes: bodies still work.
      const body = new Response('x').body;
      return [ReadableStream, typeof Blob, keys.includes('FormData'), typeof descriptor.get, after.value === form,
        after.enumerable, after.writable, form.name, Object.prototype.toString.call(body)];
    `);
    assert.deepEqual(out, [
      'mine',
      'undefined',
      false,
      'function',
      true,
      false,
      true,
      'FormData',
      '[object ReadableStream]',
    ]);
  });
});
