import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

describe('Headers', () => {
  test('names are case-insensitive and values of one name combine', async () => {
    const out = await evalPrelude(`
      const h = new Headers();
      h.append('X-Thing', 'a');
      h.append('x-thing', 'b');
      h.set('Content-Type', 'text/html');
      return [h.get('X-THING'), h.has('x-thing'), h.get('content-type'), h.get('missing'), h.has('missing')];
    `);
    assert.deepEqual(out, ['a, b', true, 'text/html', null, false]);
  });

  test('set replaces every value of the name; delete removes them', async () => {
    const out = await evalPrelude(`
      const h = new Headers([['a', '1'], ['b', '2'], ['A', '3']]);
      h.set('a', '9');
      const afterSet = [...h];
      h.delete('B');
      return [afterSet, [...h]];
    `);
    assert.deepEqual(out, [
      [
        ['a', '9'],
        ['b', '2'],
      ],
      [['a', '9']],
    ]);
  });

  test('iterates sorted by lowercase name: entries, keys, values, forEach, iterator', async () => {
    const out = await evalPrelude(`
      const h = new Headers({ 'Zeta': 'z', 'alpha': 'a', 'Mid': 'm' });
      const seen = [];
      const self = {};
      h.forEach(function (value, name, headers) { seen.push([name, value, headers === h, this === self]); }, self);
      return {
        entries: [...h.entries()],
        keys: [...h.keys()],
        values: [...h.values()],
        iter: [...h],
        seen,
        tag: Object.prototype.toString.call(h),
        iterTag: Object.prototype.toString.call(h.keys()),
      };
    `);
    assert.deepEqual(out, {
      entries: [
        ['alpha', 'a'],
        ['mid', 'm'],
        ['zeta', 'z'],
      ],
      keys: ['alpha', 'mid', 'zeta'],
      values: ['a', 'm', 'z'],
      iter: [
        ['alpha', 'a'],
        ['mid', 'm'],
        ['zeta', 'z'],
      ],
      seen: [
        ['alpha', 'a', true, true],
        ['mid', 'm', true, true],
        ['zeta', 'z', true, true],
      ],
      tag: '[object Headers]',
      iterTag: '[object Headers Iterator]',
    });
  });

  test('Set-Cookie values stay separate in iteration and getSetCookie()', async () => {
    const out = await evalPrelude(`
      const h = new Headers();
      h.append('Set-Cookie', 'a=1; Path=/');
      h.append('set-cookie', 'b=2, with comma');
      h.append('X', 'y');
      return [[...h], h.getSetCookie(), h.get('set-cookie'), new Headers().getSetCookie()];
    `);
    assert.deepEqual(out, [
      [
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2, with comma'],
        ['x', 'y'],
      ],
      ['a=1; Path=/', 'b=2, with comma'],
      'a=1; Path=/, b=2, with comma',
      [],
    ]);
  });

  test('values are trimmed of HTTP whitespace', async () => {
    const out = await evalPrelude(`return new Headers({ a: ' \\t x y \\r\\n' }).get('a');`);
    assert.equal(out, 'x y');
  });

  test('invalid names and values throw TypeError', async () => {
    const out = await evalPrelude(`
      const h = new Headers();
      return [
        thrown(() => h.append('bad name', 'x')),
        thrown(() => h.append('', 'x')),
        thrown(() => h.set('na\\u00efve', 'x')),
        thrown(() => h.append('x', 'a\\nb')),
        thrown(() => h.append('x', 'a\\u0000b')),
        thrown(() => h.append('x', '\\u2603')),
        thrown(() => h.get('bad:name')),
        thrown(() => h.has('(x)')),
        thrown(() => h.delete('a b')),
        thrown(() => h.append('ok', 'caf\\u00e9')),
      ];
    `);
    assert.ok(Array.isArray(out));
    const results = out as string[];
    for (const r of results.slice(0, 9)) assert.match(r, /^TypeError: /);
    assert.equal(results[9], 'no error');
  });

  test('init forms: record, pairs, Headers, any iterable; bad init throws', async () => {
    const out = await evalPrelude(`
      const base = new Headers({ a: '1' });
      return [
        [...new Headers({ B: '2', a: '1' })],
        [...new Headers([['b', '2'], ['a', '1']])],
        [...new Headers(base)],
        [...new Headers(new Map([['m', 'v']]))],
        thrown(() => new Headers([['only-name']])),
        thrown(() => new Headers([['a', 'b', 'c']])),
        thrown(() => new Headers(['ab'])),
        thrown(() => new Headers(null)),
        thrown(() => new Headers('a=b')),
        thrown(() => Headers()),
      ];
    `);
    assert.deepEqual((out as unknown[]).slice(0, 4), [
      [
        ['a', '1'],
        ['b', '2'],
      ],
      [
        ['a', '1'],
        ['b', '2'],
      ],
      [['a', '1']],
      [['m', 'v']],
    ]);
    for (const r of (out as string[]).slice(4)) assert.match(r, /^TypeError: /);
  });

  test('a copy made from Headers is independent', async () => {
    const out = await evalPrelude(`
      const a = new Headers({ x: '1' });
      const b = new Headers(a);
      b.set('x', '2');
      return [a.get('x'), b.get('x')];
    `);
    assert.deepEqual(out, ['1', '2']);
  });

  test('headers of Response.redirect() and Response.error() are immutable', async () => {
    const out = await evalPrelude(`
      const r = Response.redirect('https://example.com/next', 301);
      return [
        r.headers.get('location'),
        thrown(() => r.headers.set('x', 'y')),
        thrown(() => r.headers.delete('location')),
        thrown(() => Response.error().headers.append('x', 'y')),
      ];
    `);
    assert.deepEqual(out, [
      'https://example.com/next',
      'TypeError: Headers: these headers are immutable',
      'TypeError: Headers: these headers are immutable',
      'TypeError: Headers: these headers are immutable',
    ]);
  });

  test('iteration is live: changes made while iterating are seen', async () => {
    const out = await evalPrelude(`
      const h = new Headers({ a: '1', c: '3' });
      const names = [];
      for (const [name] of h) {
        names.push(name);
        if (name === 'a') h.append('b', '2');
      }
      return names;
    `);
    assert.deepEqual(out, ['a', 'b', 'c']);
  });
});
