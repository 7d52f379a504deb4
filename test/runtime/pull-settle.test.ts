/**
 * The isolate side of a call's tail (src/runtime/contract.ts): a response whose body is a real
 * ReadableStream comes back as `stream: true` and is pulled with `__procyon.pull(maxBytes)`;
 * `ctx.waitUntil` work is awaited with `__procyon.settle(timeoutMs)`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, fetchResult, withProc, type DispatchResult } from './harness.js';

const decoder = new TextDecoder();
const text = (chunks: Uint8Array[]): string => chunks.map((c) => decoder.decode(c)).join('');

function streamedResponse(result: DispatchResult): { status: number; headers: [string, string][] } {
  if (!result.ok || result.result.type !== 'fetch')
    throw new Error(`expected a response: ${JSON.stringify(result)}`);
  const { response } = result.result;
  assert.equal(response.stream, true);
  assert.equal(response.body, null);
  return { status: response.status, headers: response.headers };
}

describe('streamed response bodies: dispatch and pull', () => {
  test('a ReadableStream body is streamed: stream: true, then chunks of at most maxBytes, then null', async () => {
    const code = `
      const enc = new TextEncoder();
      export default { fetch() {
        const body = new ReadableStream({ start(c) { c.enqueue(enc.encode('0123456789')); c.enqueue(enc.encode('abc')); c.close(); } });
        return new Response(body, { status: 203, headers: { 'content-type': 'text/plain' } });
      } };`;
    await withProc(code, async (proc) => {
      const res = streamedResponse(await proc.fetch());
      assert.deepEqual(res, { status: 203, headers: [['content-type', 'text/plain']] });
      const { chunks, error } = await proc.drain(4);
      assert.equal(error, undefined);
      assert.deepEqual(
        chunks.map((c) => decoder.decode(c)),
        ['0123', '4567', '89ab', 'c'],
      );
      assert.deepEqual(await proc.pull(4), { ok: true, value: null });
    });
  });

  test('chunks the stream already holds are joined up to maxBytes; later ones are not waited for', async () => {
    const code = `
      const enc = new TextEncoder();
      const tick = () => new Promise((resolve) => queueMicrotask(resolve));
      export default { fetch() {
        let step = 0;
        const body = new ReadableStream({
          start(c) { for (const part of ['a', 'b', 'c']) c.enqueue(enc.encode(part)); },
          async pull(c) {
            await tick();
            step += 1;
            if (step <= 2) c.enqueue(enc.encode('late' + step)); else c.close();
          },
        }, { highWaterMark: 0 });
        return new Response(body);
      } };`;
    await withProc(code, async (proc) => {
      streamedResponse(await proc.fetch());
      const { chunks } = await proc.drain(1024);
      assert.deepEqual(
        chunks.map((c) => decoder.decode(c)),
        ['abc', 'late1', 'late2'],
      );
    });
  });

  test('a TransformStream fed by waitUntil work streams as the host pulls', async () => {
    const code = `
      export default { fetch(request, env, ctx) {
        const { readable, writable } = new TransformStream();
        const writer = writable.getWriter();
        const enc = new TextEncoder();
        ctx.waitUntil((async () => {
          for (let i = 0; i < 5; i++) await writer.write(enc.encode('line ' + i + '\\n'));
          await writer.close();
        })());
        return new Response(readable.pipeThrough(new TransformStream()), { headers: { 'x-streamed': 'yes' } });
      } };`;
    await withProc(code, async (proc) => {
      const result = await proc.fetch();
      streamedResponse(result);
      assert.equal(result.ok && result.waitUntil, true);
      const { chunks } = await proc.drain(64 * 1024);
      assert.equal(text(chunks), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
      assert.deepEqual(await proc.settle(), { pending: 0 });
    });
  });

  test('a stream that errors, or yields a non-Uint8Array chunk, ends the pull loop with PROCYON_FUNCTION_ERROR', async () => {
    const code = `
      const enc = new TextEncoder();
      export default { fetch(request) {
        const kind = new URL(request.url).pathname;
        const body = new ReadableStream({
          start(c) { c.enqueue(enc.encode('ok')); },
          pull(c) {
            if (kind === '/error') c.error(new RangeError('the source broke'));
            else c.enqueue('a string');
          },
        });
        return new Response(body);
      } };`;
    await withProc(code, async (proc) => {
      streamedResponse(await proc.fetch({ url: 'https://fn.example/error' }));
      // The bytes read before the failure go out first; the failure comes with the next pull.
      assert.deepEqual(await proc.pull(100), { ok: true, value: new TextEncoder().encode('ok') });
      const failed = await proc.pull(100);
      assert.equal(failed.ok, false);
      assert.equal(!failed.ok && failed.error.code, 'PROCYON_FUNCTION_ERROR');
      assert.equal(!failed.ok && failed.error.message, 'RangeError: the source broke');
      assert.deepEqual(await proc.pull(100), { ok: true, value: null });

      streamedResponse(await proc.fetch({ url: 'https://fn.example/chunk' }));
      const { chunks, error } = await proc.drain(100);
      assert.equal(text(chunks), 'ok');
      assert.equal(error?.code, 'PROCYON_FUNCTION_ERROR');
      assert.match(
        error?.message ?? '',
        /^TypeError: Response: the body stream produced string, but body chunks must be Uint8Array$/,
      );
    });
  });

  test('a new dispatch leaves an unread stream alone; settle, or end, cancels it', async () => {
    const code = `
      let cancelled = [];
      export default { fetch(request) {
        if (request.method === 'GET') return Response.json(cancelled);
        return new Response(new ReadableStream({
          pull(c) { c.enqueue(new Uint8Array(8)); },
          cancel(reason) { cancelled.push(String(reason)); },
        }));
      } };`;
    await withProc(code, async (proc) => {
      streamedResponse(await proc.fetch({ method: 'POST' }));
      const first = await proc.pull(4, 1);
      assert.equal(first.ok && first.value?.byteLength, 4);
      assert.deepEqual(JSON.parse(fetchResult(await proc.fetch()).text), [], 'call 2 cancels nothing');
      assert.deepEqual(await proc.pull(4, 2), { ok: true, value: null }, 'call 2 has no stream to pull');
      const more = await proc.pull(4, 1);
      assert.equal(more.ok && more.value?.byteLength, 4, 'call 1 still streams');

      assert.deepEqual(await proc.settle(undefined, 1), { pending: 0 });
      assert.deepEqual(await proc.pull(4, 1), { ok: true, value: null }, 'settled: the stream is over');
      proc.end(1);

      streamedResponse(await proc.fetch({ method: 'POST' }));
      proc.end(3);
      assert.deepEqual(await proc.pull(4, 3), { ok: true, value: null }, 'ended: the call is forgotten');
      assert.deepEqual(JSON.parse(fetchResult(await proc.fetch()).text), [
        'TypeError: the response stream was cancelled: the client stopped reading it',
        'TypeError: the response stream was cancelled: its call ended',
      ]);
    });
  });

  test('bodies of known bytes come whole, even as an untouched stream; pull then has nothing', async () => {
    const code = `
      export default { async fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === '/body-of-bytes') return new Response(new Response('from bytes').body);
        if (path === '/blob-stream') return new Response(new Blob(['from a blob']).stream());
        if (path === '/form') { const f = new FormData(); f.append('k', 'v'); return new Response(f); }
        if (path === '/params') return new Response(new URLSearchParams({ q: 'a b' }));
        if (path === '/read-stream') {
          const response = new Response(new Response('consumed').body);
          await response.body.getReader().read();
          return response;
        }
        if (path === '/locked-stream') {
          const body = new Response('consumed').body;
          body.getReader();
          return new Response(body);
        }
        return new Response('x'.repeat(2000));
      } };`;
    await withProc(code, async (proc) => {
      assert.equal(
        fetchResult(await proc.fetch({ url: 'https://fn.example/body-of-bytes' })).text,
        'from bytes',
      );
      assert.equal(
        fetchResult(await proc.fetch({ url: 'https://fn.example/blob-stream' })).text,
        'from a blob',
      );
      const form = fetchResult(await proc.fetch({ url: 'https://fn.example/form' }));
      assert.match(
        form.text,
        /^------ProcyonFormBoundary\w+\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n/,
      );
      assert.equal(fetchResult(await proc.fetch({ url: 'https://fn.example/params' })).text, 'q=a+b');
      assert.deepEqual(await proc.pull(10), { ok: true, value: null });
      const read = errorOf(await proc.fetch({ url: 'https://fn.example/read-stream' }));
      assert.equal(read.code, 'PROCYON_BAD_RESPONSE');
      const locked = errorOf(await proc.fetch({ url: 'https://fn.example/locked-stream' }));
      assert.equal(locked.code, 'PROCYON_FUNCTION_ERROR');
      assert.equal(
        locked.message,
        'TypeError: Response: the body ReadableStream is locked or has already been read',
      );
      const big = errorOf(await proc.fetch({ url: 'https://fn.example/big' }, { maxResponseBytes: 1000 }));
      assert.equal(big.code, 'PROCYON_RESPONSE_TOO_LARGE');
    });
  });

  test('a streamed body is not held to maxResponseBytes; pull rejects a bad maxBytes', async () => {
    const code = `
      export default { fetch() {
        let sent = 0;
        return new Response(new ReadableStream({
          pull(c) { if (sent++ < 4) c.enqueue(new Uint8Array(1000).fill(65)); else c.close(); },
        }));
      } };`;
    await withProc(code, async (proc) => {
      streamedResponse(await proc.fetch({}, { maxResponseBytes: 100 }));
      const bad = await proc.pull(0);
      assert.equal(!bad.ok && bad.error.code, 'PROCYON_INTERNAL');
      const { chunks } = await proc.drain(3000);
      assert.equal(
        chunks.reduce((n, c) => n + c.byteLength, 0),
        4000,
      );
    });
  });
});

describe('ctx.waitUntil and settle', () => {
  test('settle resolves once every waitUntil promise has settled, including ones added meanwhile', async () => {
    const code = `
      const tick = () => new Promise((resolve) => queueMicrotask(resolve));
      let log = [];
      export default { fetch(request, env, ctx) {
        if (request.method === 'GET') return Response.json(log);
        log = [];
        ctx.waitUntil((async () => {
          for (let i = 0; i < 20; i++) await tick();
          log.push('first');
          ctx.waitUntil((async () => { for (let i = 0; i < 20; i++) await tick(); log.push('added later'); })());
        })());
        ctx.waitUntil(Promise.reject(new TypeError('lost work')));
        ctx.waitUntil('not a promise');
        return new Response('sent');
      } };`;
    await withProc(code, async (proc) => {
      const result = await proc.fetch({ method: 'POST' });
      assert.equal(fetchResult(result).text, 'sent');
      assert.equal(result.ok && result.waitUntil, true);
      assert.deepEqual(await proc.settle(1000), { pending: 0 });
      const get = await proc.fetch();
      assert.deepEqual(JSON.parse(fetchResult(get).text), ['first', 'added later']);
      assert.equal(get.ok && get.waitUntil, undefined, 'no waitUntil, no flag');
      assert.deepEqual(await proc.settle(), { pending: 0 });
      const errors = proc.logs.filter((l) => l.level === 'error').map((l) => l.msg);
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? '', /^Uncaught \(in waitUntil\) TypeError: lost work\n {4}at /);
    });
  });

  test('settle gives up after timeoutMs when the isolate has timers, reporting what is still pending', async () => {
    const code = `
      // Stand-in timers: the host's come from the bridge, which this harness does not attach.
      globalThis.setTimeout = (fn) => { queueMicrotask(fn); return 1; };
      globalThis.clearTimeout = () => {};
      export default { fetch(request, env, ctx) {
        if (request.method === 'POST') {
          ctx.waitUntil(new Promise(() => {}));
          ctx.waitUntil(Promise.resolve());
        }
        return new Response('ok');
      } };`;
    await withProc(code, async (proc) => {
      const result = await proc.fetch({ method: 'POST' });
      assert.equal(result.ok && result.waitUntil, true);
      assert.deepEqual(await proc.settle(5), { pending: 1 });
      // Each call has its own set: the next call does not wait for the forever-pending promise.
      const next = await proc.fetch();
      assert.equal(next.ok && next.waitUntil, undefined);
      assert.deepEqual(await proc.settle(), { pending: 0 });
    });
  });

  test('settle with nothing to wait for, and for an event-style module', async () => {
    await withProc(`export const handler = () => 42;`, async (proc) => {
      assert.deepEqual(await proc.event({}), { ok: true, result: { type: 'event', value: 42 } });
      assert.deepEqual(await proc.settle(10), { pending: 0 });
      assert.deepEqual(await proc.pull(10), { ok: true, value: null });
    });
  });
});
