/**
 * Request and Response bodies as streams (Fetch standard "body"): `.body` is a ReadableStream or
 * null, streams are accepted as bodies, the read methods read streams, a used, locked or disturbed
 * body is a TypeError, clone() tees. (That a body of known bytes loads no streams code unless
 * `.body` is read is checked in snapshot.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

describe('bodies as streams', () => {
  test('.body is null for no body, else a byte stream of the bytes; reading it uses the body', async () => {
    const out = await evalPrelude(`
      const empty = [new Response(null).body, new Response().body, new Request('https://a.example/').body];
      const res = new Response('héllo');
      const same = res.body === res.body;
      const reader = res.body.getReader({ mode: 'byob' });
      const first = await reader.read(new Uint8Array(3));
      const usedWhileReading = res.bodyUsed;
      const rest = await reader.read(new Uint8Array(10));
      const end = await reader.read(new Uint8Array(1));
      return [empty, same, [...first.value], usedWhileReading, new TextDecoder().decode(rest.value), end.done,
        await rejected(() => res.text()), new Response('').body !== null];
    `);
    assert.deepEqual(out, [
      [null, null, null],
      true,
      [104, 0xc3, 0xa9],
      true,
      'llo',
      true,
      'TypeError: Response.text: body has already been used',
      true,
    ]);
  });

  test('a ReadableStream is a body: the read methods read it, chunks must be Uint8Array', async () => {
    const out = await evalPrelude(`
      const enc = new TextEncoder();
      const stream = (...parts) => new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } });
      const res = new Response(stream(enc.encode('{"a":'), enc.encode('[1,2]}')));
      const headers = [...res.headers];
      const json = await res.json();
      const bytes = await new Response(stream(new Uint8Array([1]), new Uint8Array([2, 3]))).bytes();
      const buffer = await new Response(stream(enc.encode('ab'))).arrayBuffer();
      const blob = await new Response(stream(enc.encode('blob')), { headers: { 'content-type': 'Text/Plain' } }).blob();
      const bad = await rejected(() => new Response(stream('not bytes')).text());
      const failing = new ReadableStream({ pull(c) { c.error(new RangeError('source failed')); } });
      return [headers, json, [...bytes], buffer.byteLength, [blob.type, await blob.text()], bad,
        await rejected(() => new Response(failing).text())];
    `);
    assert.deepEqual(out, [
      [],
      { a: [1, 2] },
      [1, 2, 3],
      2,
      ['text/plain', 'blob'],
      'TypeError: Response.text: the body stream produced string, but body chunks must be Uint8Array',
      'RangeError: source failed',
    ]);
  });

  test('a locked or disturbed stream cannot become a body; a body is used once its stream is read', async () => {
    const out = await evalPrelude(`
      const locked = new ReadableStream();
      locked.getReader();
      const disturbed = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); } });
      await disturbed.getReader().read().then(() => undefined);
      const cancelled = new ReadableStream();
      await cancelled.cancel();
      const res = new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.close(); } }));
      const lockedOnly = res.body.getReader();
      const state = [res.bodyUsed, await rejected(() => res.text()), thrown(() => res.clone())];
      await lockedOnly.read();
      return [
        thrown(() => new Response(locked)),
        thrown(() => new Response(disturbed)),
        thrown(() => new Response(cancelled)),
        state,
        res.bodyUsed,
      ];
    `);
    assert.deepEqual(out, [
      'TypeError: Response: the body ReadableStream is locked or has already been read',
      'TypeError: Response: the body ReadableStream is locked or has already been read',
      'TypeError: Response: the body ReadableStream is locked or has already been read',
      [
        false,
        'TypeError: Response.text: body has already been used',
        'TypeError: Response.clone: body has already been used',
      ],
      true,
    ]);
  });

  test('a stream body of a Request needs duplex: "half"; GET and HEAD cannot have one', async () => {
    const out = await evalPrelude(`
      const body = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } });
      const ok = new Request('https://a.example/', { method: 'POST', body: body(), duplex: 'half' });
      return [
        await ok.text(), ok.duplex, [...ok.headers],
        thrown(() => new Request('https://a.example/', { method: 'POST', body: body() })),
        thrown(() => new Request('https://a.example/', { method: 'POST', body: body(), duplex: 'full' })),
        thrown(() => new Request('https://a.example/', { body: body(), duplex: 'half' })),
      ];
    `);
    assert.deepEqual(out, [
      'streamed',
      'half',
      [],
      'TypeError: Request: a ReadableStream body needs the duplex: "half" option',
      'TypeError: Request: duplex must be "half", not "full"',
      'TypeError: Request: a GET request cannot have a body',
    ]);
  });

  test('clone() tees a stream body: both read the whole of it, in any order', async () => {
    const out = await evalPrelude(`
      let pulls = 0;
      const source = new ReadableStream({
        pull(c) { pulls += 1; if (pulls <= 3) c.enqueue(new TextEncoder().encode('part' + pulls)); else c.close(); },
      });
      const res = new Response(source, { headers: { 'x-a': '1' } });
      const copy = res.clone();
      const copyText = await copy.text();
      const text = await res.text();
      const req = new Request('https://a.example/', { method: 'PUT', body: new Blob(['blob body']) });
      const reqCopy = req.clone();
      return [copyText, text, [...copy.headers], await reqCopy.text(), await req.text(), [...req.headers]];
    `);
    assert.deepEqual(out, [
      'part1part2part3',
      'part1part2part3',
      [['x-a', '1']],
      'blob body',
      'blob body',
      [],
    ]);
  });

  test('new Request(request) takes over a stream body and leaves the input used', async () => {
    const out = await evalPrelude(`
      const input = new Request('https://a.example/', {
        method: 'POST', duplex: 'half',
        body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('moved')); c.close(); } }),
      });
      const next = new Request(input);
      const text = await next.text();
      return [text, input.bodyUsed, thrown(() => new Request(input)), await rejected(() => input.text())];
    `);
    assert.deepEqual(out, [
      'moved',
      true,
      'TypeError: Request: body has already been used',
      'TypeError: Request.text: body has already been used',
    ]);
  });

  test('request.signal follows the init signal or the input request, and is made on first read', async () => {
    const out = await evalPrelude(`
      const plain = new Request('https://a.example/');
      const controller = new AbortController();
      const req = new Request('https://a.example/', { signal: controller.signal });
      const copy = new Request(req);
      const clone = req.clone();
      controller.abort('stop');
      return [plain.signal.aborted, plain.signal === plain.signal, req.signal.aborted, req.signal.reason,
        copy.signal.aborted, clone.signal.reason, thrown(() => new Request('https://a.example/', { signal: {} }))];
    `);
    assert.deepEqual(out, [
      false,
      true,
      true,
      'stop',
      true,
      'stop',
      'TypeError: Request: signal must be an AbortSignal',
    ]);
  });
});
