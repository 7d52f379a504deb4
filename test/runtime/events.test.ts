/**
 * Event, CustomEvent, EventTarget, AbortController and AbortSignal in a real isolate: listener
 * options (capture, once, passive, signal), dispatch order and flags, errors in listeners, abort
 * reasons, AbortSignal.any and AbortSignal.timeout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalBridged } from './bridged.js';
import { evalPrelude, withProc, fetchResult } from './harness.js';

describe('EventTarget and Event', () => {
  test('listeners run capture first, then in order; once, duplicates, removal, handleEvent objects', async () => {
    const out = await evalPrelude(`
      const target = new EventTarget();
      const calls = [];
      const shared = () => calls.push('shared');
      target.addEventListener('ping', function (e) { calls.push('first:' + e.eventPhase + ':' + (e.currentTarget === target) + ':' + (this === target)); });
      target.addEventListener('ping', shared);
      target.addEventListener('ping', shared);
      target.addEventListener('ping', () => calls.push('capture'), true);
      target.addEventListener('ping', () => calls.push('once'), { once: true });
      const listener = { handleEvent(e) { calls.push('object:' + (this === listener)); } };
      target.addEventListener('ping', listener);
      target.addEventListener('ping', null);
      const event = new Event('ping');
      target.dispatchEvent(event);
      target.removeEventListener('ping', shared);
      target.removeEventListener('ping', shared, true);
      target.dispatchEvent(new Event('ping'));
      target.dispatchEvent(new Event('other'));
      return [calls, event.target === target, event.currentTarget, event.eventPhase, event.composedPath()];
    `);
    assert.deepEqual(out, [
      [
        'capture',
        'first:2:true:true',
        'shared',
        'once',
        'object:true',
        'capture',
        'first:2:true:true',
        'object:true',
      ],
      true,
      null,
      0,
      [],
    ]);
  });

  test('preventDefault needs cancelable and no passive listener; stopImmediatePropagation; flags', async () => {
    const out = await evalPrelude(`
      const target = new EventTarget();
      const seen = [];
      target.addEventListener('a', (e) => { e.preventDefault(); seen.push('passive:' + e.defaultPrevented); }, { passive: true });
      target.addEventListener('a', (e) => { e.preventDefault(); seen.push('active:' + e.defaultPrevented); });
      target.addEventListener('a', (e) => { e.stopImmediatePropagation(); seen.push('stopper'); });
      target.addEventListener('a', () => seen.push('never'));
      const cancelable = new Event('a', { cancelable: true, bubbles: true });
      const result = target.dispatchEvent(cancelable);
      const plain = new Event('a');
      const plainResult = target.dispatchEvent(plain);
      const custom = new CustomEvent('c', { detail: { n: 1 } });
      return [seen, result, plainResult, cancelable.defaultPrevented, cancelable.returnValue, cancelable.bubbles,
        plain.isTrusted, typeof plain.timeStamp, custom.detail, new CustomEvent('x').detail, custom instanceof Event,
        Event.AT_TARGET, plain.NONE, thrown(() => new Event()), Object.prototype.toString.call(custom)];
    `);
    assert.deepEqual(out, [
      ['passive:false', 'active:true', 'stopper', 'passive:false', 'active:false', 'stopper'],
      false,
      true,
      true,
      false,
      true,
      false,
      'number',
      { n: 1 },
      null,
      true,
      2,
      0,
      'TypeError: Event: 1 argument required, but only 0 present',
      '[object CustomEvent]',
    ]);
  });

  test('an exception in a listener is logged and the other listeners still run; re-dispatch throws', async () => {
    const code = `
      export default { fetch() {
        const target = new EventTarget();
        const seen = [];
        let nested;
        target.addEventListener('x', () => { throw new RangeError('listener failed'); });
        target.addEventListener('x', (e) => { seen.push('second'); try { target.dispatchEvent(e); } catch (err) { nested = err.name; } });
        target.dispatchEvent(new Event('x'));
        return Response.json([seen, nested]);
      } };`;
    await withProc(code, async (proc) => {
      assert.deepEqual(JSON.parse(fetchResult(await proc.fetch()).text), [['second'], 'InvalidStateError']);
      const errors = proc.logs.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.msg ?? '', /^Uncaught RangeError: listener failed\n {4}at /);
    });
  });
});

describe('AbortController and AbortSignal', () => {
  test('abort(reason): aborted, reason, throwIfAborted, one trusted abort event, onabort', async () => {
    const out = await evalPrelude(`
      const controller = new AbortController();
      const { signal } = controller;
      const events = [];
      signal.addEventListener('abort', (e) => events.push(['listener', e.type, e.isTrusted, signal.aborted]));
      signal.onabort = function (e) { events.push(['onabort', this === signal, e.type]); };
      const before = [signal.aborted, signal.reason, thrown(() => signal.throwIfAborted())];
      controller.abort(new TypeError('custom'));
      controller.abort('again');
      const defaulted = new AbortController();
      defaulted.abort();
      return [before, signal.aborted, signal.reason.message, thrown(() => signal.throwIfAborted()), events,
        defaulted.signal.reason.name, defaulted.signal.reason instanceof DOMException, defaulted.signal.reason.code,
        thrown(() => new AbortSignal()), Object.prototype.toString.call(signal), signal instanceof EventTarget];
    `);
    assert.deepEqual(out, [
      [false, undefined, 'no error'],
      true,
      'custom',
      'TypeError: custom',
      [
        ['listener', 'abort', true, true],
        ['onabort', true, 'abort'],
      ],
      'AbortError',
      true,
      20,
      'TypeError: AbortSignal: Illegal constructor',
      '[object AbortSignal]',
      true,
    ]);
  });

  test('AbortSignal.abort(), AbortSignal.any() follows the first source; listeners with a signal are removed', async () => {
    const out = await evalPrelude(`
      const pre = AbortSignal.abort('given');
      const a = new AbortController();
      const b = new AbortController();
      const any = AbortSignal.any([a.signal, b.signal]);
      const nested = AbortSignal.any([any]);
      const order = [];
      any.addEventListener('abort', () => order.push('any'));
      nested.addEventListener('abort', () => order.push('nested'));
      b.abort('from b');
      a.abort('from a');
      const target = new EventTarget();
      const remover = new AbortController();
      let count = 0;
      target.addEventListener('t', () => count++, { signal: remover.signal });
      target.dispatchEvent(new Event('t'));
      remover.abort();
      target.dispatchEvent(new Event('t'));
      target.addEventListener('t', () => count++, { signal: AbortSignal.abort() });
      target.dispatchEvent(new Event('t'));
      return [pre.aborted, pre.reason, any.reason, nested.reason, order, count,
        AbortSignal.any([pre, a.signal]).reason, AbortSignal.any([]).aborted,
        thrown(() => AbortSignal.any([{}])), thrown(() => target.addEventListener('t', () => {}, { signal: {} }))];
    `);
    assert.deepEqual(out, [
      true,
      'given',
      'from b',
      'from b',
      ['any', 'nested'],
      1,
      'given',
      false,
      'TypeError: AbortSignal.any: every item must be an AbortSignal',
      'TypeError: EventTarget.addEventListener: the signal option must be an AbortSignal',
    ]);
  });

  test('AbortSignal.timeout aborts with a TimeoutError through the global setTimeout', async () => {
    const out = await evalPrelude(`
      const invalid = [thrown(() => AbortSignal.timeout(-1)), thrown(() => AbortSignal.timeout(NaN))];
      delete globalThis.setTimeout;
      const withoutTimers = thrown(() => AbortSignal.timeout(10));
      const scheduled = [];
      globalThis.setTimeout = (fn, ms) => { scheduled.push(ms); queueMicrotask(fn); return scheduled.length; };
      const signal = AbortSignal.timeout(25.7);
      const before = signal.aborted;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return [invalid, withoutTimers, before, scheduled, signal.reason.name, signal.reason.message];
    `);
    assert.deepEqual(out, [
      [
        'TypeError: AbortSignal.timeout: -1 is not a valid number of milliseconds',
        'TypeError: AbortSignal.timeout: NaN is not a valid number of milliseconds',
      ],
      'NotSupportedError: AbortSignal.timeout needs setTimeout, which this isolate does not have',
      false,
      [25],
      'TimeoutError',
      'The operation timed out.',
    ]);
  });

  test('AbortSignal.timeout with the host timers aborts after the delay; pipeTo and any() follow it', async () => {
    const { value } = await evalBridged<unknown[]>(`
      const started = Date.now();
      const signal = AbortSignal.timeout(30);
      const any = AbortSignal.any([new AbortController().signal, signal]);
      const piped = rejected(() => new ReadableStream().pipeTo(new WritableStream(), { signal }));
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return [Date.now() - started >= 25, signal.reason.name, any.reason === signal.reason, await piped];
    `);
    assert.deepEqual(value, [true, 'TimeoutError', true, 'TimeoutError: The operation timed out.']);
  });
});
