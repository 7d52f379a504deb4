/**
 * structuredClone in a real isolate: what it copies and how (identity, cycles, shared buffers,
 * holes, wrappers, errors), and what throws a DataCloneError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

describe('structuredClone', () => {
  test('copies values deeply, keeping cycles and shared references, dropping prototypes', async () => {
    const out = await evalPrelude(`
      const shared = { s: 1 };
      const source = { n: -0, big: 10n, str: 'x', nil: null, und: undefined, arr: [1, , 3], shared, again: shared,
        date: new Date(5), re: /a+b/gi, map: new Map([[shared, 'v']]), set: new Set(['a', shared]),
        wrapped: [new Number(2), new String('s'), new Boolean(false), Object(3n)] };
      source.arr.extra = 'kept';
      source.self = source;
      class Point { constructor() { this.x = 1; } get y() { return 2; } }
      const copy = structuredClone(source);
      const point = structuredClone(new Point());
      return [
        copy !== source, copy.self === copy, copy.shared === copy.again, copy.shared !== shared,
        Object.is(copy.n, -0), copy.big, copy.und, 'und' in copy, 1 in copy.arr, copy.arr.length, copy.arr.extra,
        copy.date instanceof Date && copy.date.getTime(), [copy.re.source, copy.re.flags, copy.re.lastIndex],
        copy.map.get(copy.shared), copy.set.has(copy.shared),
        copy.wrapped.map((w) => [typeof w, w.valueOf()]),
        [Object.getPrototypeOf(point) === Object.prototype, point, structuredClone(undefined), structuredClone('s')],
      ];
    `);
    assert.deepEqual(out, [
      true,
      true,
      true,
      true,
      true,
      10n,
      undefined,
      true,
      false,
      3,
      'kept',
      5,
      ['a+b', 'gi', 0],
      'v',
      true,
      [
        ['object', 2],
        ['object', 's'],
        ['object', false],
        ['object', 3n],
      ],
      [true, { x: 1 }, undefined, 's'],
    ]);
  });

  test('buffers and views: bytes copied, views of one buffer share the copy; resizable kept', async () => {
    const out = await evalPrelude(`
      const buffer = new ArrayBuffer(8);
      const bytes = new Uint8Array(buffer, 2, 4);
      bytes.set([1, 2, 3, 4]);
      const view = new DataView(buffer, 1, 2);
      const [b2, v2, f2] = structuredClone([bytes, view, new Float64Array([1.5])]);
      b2[0] = 99;
      const resizable = structuredClone(new ArrayBuffer(2, { maxByteLength: 16 }));
      return [bytes[0], b2 instanceof Uint8Array, [b2.byteOffset, b2.length], b2.buffer === v2.buffer,
        new Uint8Array(v2.buffer)[2], v2 instanceof DataView && [v2.byteOffset, v2.byteLength], [...f2],
        [resizable.resizable, resizable.maxByteLength]];
    `);
    assert.deepEqual(out, [1, true, [2, 4], true, 99, [1, 2], [1.5], [true, 16]]);
  });

  test('errors keep their type, message, stack and cause; Blob, File and DOMException clone', async () => {
    const out = await evalPrelude(`
      const error = new RangeError('bad', { cause: { why: 1 } });
      const custom = new Error('custom');
      custom.name = 'MyError';
      const [e, c] = structuredClone([error, custom]);
      const [blob, file, dom] = structuredClone([new Blob(['b'], { type: 'x/y' }), new File(['f'], 'n.txt', { lastModified: 7 }),
        new DOMException('gone', 'NotFoundError')]);
      return [e instanceof RangeError, e.message, e.cause, e.stack === error.stack, c.name, c.message,
        [blob instanceof Blob, blob.type, await blob.text()], [file instanceof File, file.name, file.lastModified],
        [dom instanceof DOMException, dom.name, dom.message, dom.code]];
    `);
    assert.deepEqual(out, [
      true,
      'bad',
      { why: 1 },
      true,
      'Error',
      'custom',
      [true, 'x/y', 'b'],
      [true, 'n.txt', 7],
      [true, 'NotFoundError', 'gone', 8],
    ]);
  });

  test('functions, symbols, promises, weak collections and platform objects throw DataCloneError', async () => {
    const out = await evalPrelude(`
      const attempt = (value, options) => {
        try { structuredClone(value, options); return 'cloned'; } catch (e) { return e.name + (e instanceof DOMException ? ' ' + e.code : ''); }
      };
      return [
        attempt(() => 1), attempt({ nested: [Symbol('s')] }), attempt(Object(Symbol('w'))), attempt(Promise.resolve()),
        attempt(new WeakMap()), attempt(new WeakSet()), attempt(new Headers()), attempt(new Request('https://a.example/')),
        attempt(new ReadableStream()), attempt(new AbortController().signal), attempt(new FormData()),
        attempt(new URL('https://a.example/')), attempt(new ArrayBuffer(1), { transfer: [new ArrayBuffer(1)] }),
        attempt(1, { transfer: [] }), thrown(() => structuredClone()),
      ];
    `);
    assert.deepEqual(out, [
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'DataCloneError 25',
      'cloned',
      'TypeError: structuredClone: 1 argument required, but only 0 present',
    ]);
  });
});
