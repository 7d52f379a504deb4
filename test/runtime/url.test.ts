import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

/** [input, base] pairs; Node's own WHATWG URL is the reference. */
const CASES: [string, string?][] = [
  ['https://example.com'],
  ['HTTPS://User:Pa%20ss@EXAMPLE.com:443/a/./b/../c?q=1&r=a b#Frag ment'],
  ['http://example.com:8080/'],
  ['https://bücher.de/straße'],
  ['http://[::1]:3000/x'],
  ['http://192.168.0.1.:80/'],
  ['http://0x7f.1/'],
  ['file:///C:/path/to/file.txt'],
  ['mailto:someone@example.com'],
  ['data:text/plain,hello%20world'],
  ['blob:https://example.com/uuid'],
  ['ws://example.com/socket'],
  ['../up?x=1', 'https://example.com/a/b/c'],
  ['//other.example/path', 'https://example.com/'],
  ['?only=query', 'https://example.com/p/q'],
  ['#hash', 'https://example.com/p?q'],
  ['https://example.com/%7Efoo/%zz/ä'],
  ['https://example.com/?a=%20&b=ü&c=<>'],
  ['  https://example.com/trim  '],
  ['https://ex\tample.com/t\nab'],
];

const INVALID = [
  '',
  'not a url',
  'https://',
  'http://exa mple.com',
  'https://[::1/',
  'http://300.0.0.1/',
  '/relative',
];

const FIELDS = [
  'href',
  'origin',
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;

describe('URL', () => {
  test('parses like Node for a spread of inputs', async () => {
    const out = await evalPrelude(`
      const fields = ${JSON.stringify(FIELDS)};
      return ${JSON.stringify(CASES)}.map(([input, base]) => {
        const u = base === undefined ? new URL(input) : new URL(input, base);
        return fields.map((f) => u[f]);
      });
    `);
    const expected = CASES.map(([input, base]) => {
      const u = base === undefined ? new URL(input) : new URL(input, base);
      return FIELDS.map((f) => u[f]);
    });
    assert.deepEqual(out, expected);
  });

  test('invalid input throws TypeError; canParse and parse agree', async () => {
    const out = await evalPrelude<[string[], boolean[], boolean[]]>(`
      const inputs = ${JSON.stringify(INVALID)};
      return [inputs.map((i) => thrown(() => new URL(i)).split(':')[0]), inputs.map((i) => URL.canParse(i)),
        inputs.map((i) => URL.parse(i) === null)];
    `);
    assert.deepEqual(out, [
      INVALID.map(() => 'TypeError'),
      INVALID.map(() => false),
      INVALID.map(() => true),
    ]);
  });

  test('setters and a live searchParams', async () => {
    const out = await evalPrelude(`
      const u = new URL('https://example.com/a?x=1');
      u.searchParams.append('y', 'two words');
      const afterAppend = u.href;
      u.pathname = '/b c';
      u.hash = 'h';
      u.port = '8443';
      u.protocol = 'http';
      u.search = '?z=3';
      return [afterAppend, u.href, u.searchParams.get('z'), u.searchParams.get('x'), String(u), JSON.stringify({ u })];
    `);
    assert.deepEqual(out, [
      'https://example.com/a?x=1&y=two+words',
      'http://example.com:8443/b%20c?z=3#h',
      '3',
      null,
      'http://example.com:8443/b%20c?z=3#h',
      '{"u":"http://example.com:8443/b%20c?z=3#h"}',
    ]);
  });

  test('the global starts as a lazy accessor and settles into an ordinary data property', async () => {
    const out = await evalPrelude(`
      const before = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      const cls = URL;
      const after = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      return [typeof before.get, before.enumerable, after.value === cls, after.writable, after.enumerable, cls.name,
        Object.prototype.toString.call(new URL('https://x.test/')), Object.keys(globalThis).includes('URL')];
    `);
    assert.deepEqual(out, ['function', false, true, true, false, 'URL', '[object URL]', false]);
  });

  test('user code may replace URL before first use; Request still parses URLs', async () => {
    const out = await evalPrelude(`
      globalThis.URL = 'mine';
      globalThis.atob = undefined;
      const r = new Request('https://Example.com/./x');
      return [globalThis.URL, r.url, typeof globalThis.atob];
    `);
    assert.deepEqual(out, ['mine', 'https://example.com/x', 'undefined']);
  });
});

describe('URLSearchParams', () => {
  test('constructors, mutation, sort, size and serialisation', async () => {
    const out = await evalPrelude(`
      const p = new URLSearchParams('?a=1&b=2&a=3&c=%20x+y');
      const fromRecord = new URLSearchParams({ k: 'v w', 'é': '&' });
      const fromPairs = new URLSearchParams([['x', '1'], ['x', '2']]);
      p.delete('b');
      p.set('d', '4');
      p.append('a', '0');
      const beforeSort = p.toString();
      p.sort();
      return [
        beforeSort, p.toString(), p.getAll('a'), p.get('c'), p.has('b'), p.size,
        fromRecord.toString(), fromPairs.getAll('x'), [...fromPairs.keys()],
        thrown(() => new URLSearchParams([['only']])),
      ];
    `);
    assert.deepEqual(out, [
      'a=1&a=3&c=+x+y&d=4&a=0',
      'a=1&a=3&a=0&c=+x+y&d=4',
      ['1', '3', '0'],
      ' x y',
      false,
      5,
      'k=v+w&%C3%A9=%26',
      ['1', '2'],
      ['x', 'x'],
      'TypeError: Each query pair must be an iterable [name, value] tuple',
    ]);
  });
});
