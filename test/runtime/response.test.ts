import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

describe('Response', () => {
  test('defaults', async () => {
    const out = await evalPrelude(`
      const r = new Response();
      return [r.status, r.ok, r.statusText, r.type, r.redirected, r.url, [...r.headers], r.bodyUsed, await r.text(),
        Object.prototype.toString.call(r), Response.name];
    `);
    assert.deepEqual(out, [
      200,
      true,
      '',
      'default',
      false,
      '',
      [],
      false,
      '',
      '[object Response]',
      'Response',
    ]);
  });

  test('body types and their default content types', async () => {
    const out = await evalPrelude(`
      const read = async (body) => { const r = new Response(body); return [r.headers.get('content-type'), [...await r.bytes()]]; };
      const buf = new Uint8Array([7, 8, 9]);
      return [
        await read('\\u00e9'),
        await read(buf),
        await read(buf.buffer),
        await read(new DataView(buf.buffer, 1, 2)),
        await read(new Uint16Array([0x0201])),
        await read(new URLSearchParams('a=1')),
        await read(null),
        await read(undefined),
      ];
    `);
    assert.deepEqual(out, [
      ['text/plain;charset=UTF-8', [0xc3, 0xa9]],
      [null, [7, 8, 9]],
      [null, [7, 8, 9]],
      [null, [8, 9]],
      [null, [1, 2]],
      ['application/x-www-form-urlencoded;charset=UTF-8', [97, 61, 49]],
      [null, []],
      [null, []],
    ]);
  });

  test('a content-type given in init is kept', async () => {
    const out = await evalPrelude(`
      return new Response('<p>', { headers: { 'Content-Type': 'text/html' } }).headers.get('content-type');
    `);
    assert.equal(out, 'text/html');
  });

  test('status must be 200..599 (RangeError); statusText must be a reason phrase (TypeError)', async () => {
    const out = await evalPrelude(`
      const s = (status) => { try { return new Response(null, { status }).status; } catch (e) { return e.name; } };
      return [
        [199, 200, 204, 299, 404, 599, 600, 0, 100, -1, NaN].map(s),
        new Response(null, { status: 404, statusText: 'Not Found' }).statusText,
        thrown(() => new Response(null, { statusText: 'bad\\ntext' })),
        thrown(() => new Response(null, { statusText: '\\u0100' })),
        [201, 299, 300, 500].map((status) => new Response(null, { status }).ok),
      ];
    `);
    assert.deepEqual(out, [
      [
        'RangeError',
        200,
        204,
        299,
        404,
        599,
        'RangeError',
        'RangeError',
        'RangeError',
        'RangeError',
        'RangeError',
      ],
      'Not Found',
      'TypeError: Response: invalid statusText "bad\\ntext"',
      'TypeError: Response: invalid statusText "\u0100"',
      [true, true, false, false],
    ]);
  });

  test('a null-body status with a body throws TypeError', async () => {
    const out = await evalPrelude(`
      return [thrown(() => new Response('x', { status: 204 })), thrown(() => new Response('x', { status: 304 })),
        thrown(() => new Response(null, { status: 204 }))];
    `);
    assert.deepEqual(out, [
      'TypeError: Response: a 204 response cannot have a body',
      'TypeError: Response: a 304 response cannot have a body',
      'no error',
    ]);
  });

  test('Response.json()', async () => {
    const out = await evalPrelude(`
      const a = Response.json({ a: [1, 'x'] });
      const b = Response.json('s', { status: 201, headers: { 'x-y': 'z' } });
      const c = Response.json(1, { headers: { 'content-type': 'application/problem+json' } });
      return [
        [a.status, a.headers.get('content-type'), await a.text()],
        [b.status, [...b.headers], await b.json()],
        c.headers.get('content-type'),
        thrown(() => Response.json(undefined)),
        thrown(() => Response.json(() => 1)),
        thrown(() => Response.json(1n)),
        thrown(() => Response.json(1, { status: 700 })),
      ];
    `);
    assert.deepEqual(out, [
      [200, 'application/json', '{"a":[1,"x"]}'],
      [
        201,
        [
          ['content-type', 'application/json'],
          ['x-y', 'z'],
        ],
        's',
      ],
      'application/problem+json',
      'TypeError: Response.json: the value cannot be converted to JSON',
      'TypeError: Response.json: the value cannot be converted to JSON',
      'TypeError: Do not know how to serialize a BigInt',
      'RangeError: Response: status 700 is outside the range 200 to 599',
    ]);
  });

  test('Response.redirect()', async () => {
    const out = await evalPrelude(`
      const a = Response.redirect('https://example.com/a b');
      const b = Response.redirect(new URL('https://example.com/x'), 308);
      return [
        [a.status, a.headers.get('location'), a.body === null ? 'null body' : 'body', await a.text()],
        [b.status, b.headers.get('location')],
        thrown(() => Response.redirect('https://example.com/', 200)),
        thrown(() => Response.redirect('https://example.com/', 304)),
        thrown(() => Response.redirect('/relative')),
      ];
    `);
    assert.deepEqual(out, [
      [302, 'https://example.com/a%20b', 'null body', ''],
      [308, 'https://example.com/x'],
      'RangeError: Response.redirect: 200 is not a redirect status',
      'RangeError: Response.redirect: 304 is not a redirect status',
      'TypeError: Response.redirect: "/relative" is not a valid absolute URL',
    ]);
  });

  test('Response.error()', async () => {
    const out = await evalPrelude(`
      const e = Response.error();
      const c = e.clone();
      return [e.type, e.status, e.ok, e.statusText, [...e.headers], c.type, c.status];
    `);
    assert.deepEqual(out, ['error', 0, false, '', [], 'error', 0]);
  });

  test('body used twice rejects with TypeError; clone() before reading gives two readable bodies', async () => {
    const out = await evalPrelude(`
      const r = new Response('twice', { status: 201, statusText: 'Made', headers: { 'x-k': 'v' } });
      const c = r.clone();
      const first = await r.text();
      return [first, r.bodyUsed, await rejected(() => r.text()), await rejected(() => r.arrayBuffer()),
        thrown(() => r.clone()), [c.status, c.statusText, c.headers.get('x-k'), await c.text()]];
    `);
    assert.deepEqual(out, [
      'twice',
      true,
      'TypeError: Response.text: body has already been used',
      'TypeError: Response.arrayBuffer: body has already been used',
      'TypeError: Response.clone: body has already been used',
      [201, 'Made', 'v', 'twice'],
    ]);
  });

  test('arrayBuffer() returns a fresh copy each time a clone is read', async () => {
    const out = await evalPrelude(`
      const r = new Response(new Uint8Array([1, 2]));
      const c = r.clone();
      const a = new Uint8Array(await r.arrayBuffer());
      a[0] = 99;
      return [...new Uint8Array(await c.arrayBuffer())];
    `);
    assert.deepEqual(out, [1, 2]);
  });

  test('text() decodes UTF-8 with replacement and drops a BOM', async () => {
    const out = await evalPrelude(`
      return new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xff, 0x69])).text();
    `);
    assert.equal(out, 'h\ufffdi');
  });
});
