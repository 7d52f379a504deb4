/**
 * Blob, File and FormData, and form bodies: `formData()` parsing multipart/form-data (boundaries,
 * quoted and escaped names, filenames to File, CRLF handling, malformed bodies) and
 * application/x-www-form-urlencoded, and `new Response(formData)` writing multipart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude, fetchResult, withProc } from './harness.js';

describe('Blob and File', () => {
  test('parts, type, size, slice with negative indices, text/bytes/arrayBuffer/stream', async () => {
    const out = await evalPrelude(`
      const blob = new Blob(['héllo ', new Uint8Array([119, 111]), new Blob(['rld'])], { type: 'Text/Plain;Charset=UTF-8' });
      const slice = blob.slice(-5, -1, 'x/y');
      const chunks = [];
      for await (const c of blob.stream()) chunks.push(...c);
      return [blob.size, blob.type, await blob.text(), [slice.size, slice.type, await slice.text()],
        await blob.slice(3, 1).text(), [...await new Blob(['ab']).bytes()], (await new Blob(['abc']).arrayBuffer()).byteLength,
        new TextDecoder().decode(new Uint8Array(chunks)), new Blob([], { type: 'bad\\u00e9' }).type,
        await new Blob(['a\\r\\nb\\rc'], { endings: 'native' }).text(), thrown(() => new Blob('abc')),
        thrown(() => new Blob([], { endings: 'other' })), Object.prototype.toString.call(blob)];
    `);
    assert.deepEqual(out, [
      12,
      'text/plain;charset=utf-8',
      'héllo world',
      [4, 'x/y', 'worl'],
      '',
      [97, 98],
      3,
      'héllo world',
      '',
      'a\nb\nc',
      'TypeError: Blob: the blob parts must be a sequence',
      'TypeError: Blob: endings must be "transparent" or "native"',
      '[object Blob]',
    ]);
  });

  test('File has a name and lastModified and is a Blob; bodies of a Blob take its type', async () => {
    const out = await evalPrelude(`
      const file = new File(['data'], 'a/b.txt', { type: 'text/csv', lastModified: 42 });
      const now = new File([], 'now').lastModified;
      const res = new Response(file);
      return [file instanceof Blob, file.name, file.lastModified, file.type, typeof now, res.headers.get('content-type'),
        await res.text(), new Response(new Blob(['x'])).headers.get('content-type'), thrown(() => new File(['x'])),
        Object.prototype.toString.call(file)];
    `);
    assert.deepEqual(out, [
      true,
      'a/b.txt',
      42,
      'text/csv',
      'number',
      'text/csv',
      'data',
      null,
      'TypeError: File: 2 arguments required (bits, name)',
      '[object File]',
    ]);
  });
});

describe('FormData', () => {
  test('append, get, getAll, set, delete, has, entries; Blobs become Files', async () => {
    const out = await evalPrelude(`
      const form = new FormData();
      form.append('a', 'one');
      form.append('b', new Blob(['bb'], { type: 'text/x' }));
      form.append('a', 'two');
      form.append('c', new Blob(['cc']), 'named.txt');
      form.append('lone', 'x\\ud800');
      const before = [form.get('a'), form.getAll('a'), form.has('b'), form.get('missing'), form.getAll('missing')];
      const b = form.get('b');
      const c = form.get('c');
      form.set('a', 'three');
      form.delete('lone');
      const seen = [];
      form.forEach((value, name) => seen.push(name));
      return [before, [b instanceof File, b.name, b.type, c.name], [...form.keys()], [...form.values()].map(String),
        seen, form.get('a'), thrown(() => form.append('only-name')), thrown(() => form.append('x', 'y', 'z')),
        thrown(() => new FormData({})), [...new FormData()].length];
    `);
    assert.deepEqual(out, [
      ['one', ['one', 'two'], true, null, []],
      [true, 'blob', 'text/x', 'named.txt'],
      ['a', 'b', 'c'],
      ['three', '[object File]', '[object File]'],
      ['a', 'b', 'c'],
      'three',
      'TypeError: FormData.append: 2 arguments required, but only 1 present',
      "TypeError: FormData.append: parameter 2 is not of type 'Blob'",
      'TypeError: FormData: there are no HTML forms here; construct it empty',
      0,
    ]);
  });

  test('new Response(formData) writes multipart with a boundary, and formData() reads it back', async () => {
    const out = await evalPrelude(`
      const form = new FormData();
      form.append('text', 'line1\\nline2\\rline3');
      form.append('quote"name', 'v');
      form.append('file', new File([new Uint8Array([0, 255, 13, 10])], 'f "1".bin', { type: 'application/x-raw' }));
      form.append('empty', new File([], 'empty.txt'));
      const res = new Response(form);
      const type = res.headers.get('content-type');
      const boundary = type.slice(type.indexOf('boundary=') + 9);
      const raw = await res.clone().text();
      const back = await res.formData();
      const file = back.get('file');
      return [type.startsWith('multipart/form-data; boundary='), raw.startsWith('--' + boundary + '\\r\\n'),
        raw.endsWith('--' + boundary + '--\\r\\n'), raw.includes('name="quote%22name"'),
        [...back.keys()], back.get('text'), back.get('quote"name'),
        [file.name, file.type, [...await file.bytes()]], [back.get('empty').name, back.get('empty').size, back.get('empty').type]];
    `);
    assert.deepEqual(out, [
      true,
      true,
      true,
      true,
      ['text', 'quote"name', 'file', 'empty'],
      'line1\r\nline2\r\nline3',
      'v',
      ['f "1".bin', 'application/x-raw', [0, 255, 13, 10]],
      ['empty.txt', 0, 'application/octet-stream'],
    ]);
  });

  test('request.formData() parses what clients send: preamble, quoted boundary, headers, filename*', async () => {
    const code = `
      export default { async fetch(request) {
        try {
          const form = await request.formData();
          const out = [];
          for (const [name, value] of form) {
            out.push(typeof value === 'string' ? [name, value] : [name, value.name, value.type, await value.text()]);
          }
          return Response.json(out);
        } catch (e) { return new Response(e.name + ': ' + e.message, { status: 400 }); }
      } };`;
    const multipart = (
      boundary: string,
      body: string,
      type = `multipart/form-data; boundary="${boundary}"`,
    ) => ({
      method: 'POST',
      headers: [['content-type', type]] as [string, string][],
      body: body.replace(/\n/g, '\r\n'),
    });
    await withProc(code, async (proc) => {
      const ok = fetchResult(
        await proc.fetch(
          multipart(
            'b:1 x',
            'preamble to ignore\n--b:1 x\nContent-Disposition: form-data; name="a"\n\n1\n--b:1 x  \n' +
              'content-disposition: form-data; name="up"; filename="c:\\\\x.txt"\nContent-Type: text/csv\n\nx,y\n\n' +
              '--b:1 x\nContent-Disposition: form-data; name="u"; filename="fallback"; filename*=UTF-8\'\'na%C3%AFve.txt\n\n' +
              'body\n--b:1 x\nContent-Disposition: form-data; name="plain"; filename="d:\\dir\\p"\n\n\n--b:1 x--\nepilogue',
          ),
        ),
      );
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(JSON.parse(ok.text), [
        ['a', '1'],
        ['up', 'c:\\x.txt', 'text/csv', 'x,y\r\n'],
        ['u', 'naïve.txt', 'text/plain', 'body'],
        ['plain', 'd:\\dir\\p', 'text/plain', ''],
      ]);
      const errors = [];
      for (const req of [
        multipart('zz', '--zz\nContent-Disposition: form-data; name="a"\n\nno end'),
        multipart('zz', '--zz\nContent-Type: text/plain\n\nx\n--zz--'),
        multipart('zz', '--other\n'),
        multipart('zz', '--zzX\nContent-Disposition: form-data; name="a"\n\nx\n--zz--'),
        multipart('', '', 'multipart/form-data'),
        multipart('', 'x', 'text/plain'),
      ]) {
        const res = fetchResult(await proc.fetch(req));
        errors.push(`${res.status} ${res.text}`);
      }
      assert.deepEqual(errors, [
        '400 TypeError: Body.formData: the multipart/form-data body is malformed (the body ends inside a part, before its close delimiter)',
        '400 TypeError: Body.formData: the multipart/form-data body is malformed (a part has no Content-Disposition: form-data header with a name)',
        '400 TypeError: Body.formData: the multipart/form-data body is malformed (the boundary does not occur in the body)',
        '400 TypeError: Body.formData: the multipart/form-data body is malformed (a delimiter is not followed by CRLF)',
        '400 TypeError: Body.formData: the multipart/form-data Content-Type has no boundary',
        '400 TypeError: Body.formData: cannot parse a body of Content-Type "text/plain"; expected multipart/form-data or application/x-www-form-urlencoded',
      ]);
    });
  });

  test('application/x-www-form-urlencoded bodies parse to FormData; URLSearchParams bodies round-trip', async () => {
    const out = await evalPrelude(`
      const req = new Request('https://a.example/', { method: 'POST', body: 'a=1&b=x+y&a=%C3%A9&empty=&flag',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' } });
      const form = await req.formData();
      const res = new Response(new URLSearchParams([['k', 'v w'], ['k', '&']]));
      return [[...form], res.headers.get('content-type'), [...await res.formData()]];
    `);
    assert.deepEqual(out, [
      [
        ['a', '1'],
        ['b', 'x y'],
        ['a', 'é'],
        ['empty', ''],
        ['flag', ''],
      ],
      'application/x-www-form-urlencoded;charset=UTF-8',
      [
        ['k', 'v w'],
        ['k', '&'],
      ],
    ]);
  });
});
