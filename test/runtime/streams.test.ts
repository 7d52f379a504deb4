/**
 * Web Streams conformance in a real isolate: ReadableStream (default and byte streams, BYOB,
 * tee, async iteration, from), WritableStream, TransformStream, pipeTo/pipeThrough with
 * AbortSignal, queuing strategies, and TextEncoderStream/TextDecoderStream.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

describe('ReadableStream', () => {
  test('reader: chunks in order, then done; closed, locked, releaseLock, cancel', async () => {
    const out = await evalPrelude(`
      let cancelReason;
      const rs = new ReadableStream({
        start(c) { c.enqueue('a1'); c.enqueue('b2'); },
        pull(c) { c.close(); },
        cancel(reason) { cancelReason = reason; },
      });
      const reader = rs.getReader();
      const locked = rs.locked;
      const reads = [await reader.read(), await reader.read(), await reader.read()];
      await reader.closed;
      reader.releaseLock();
      const second = new ReadableStream({ cancel(reason) { cancelReason = reason; } });
      await second.cancel('why');
      return [locked, rs.locked, reads, cancelReason, thrown(() => { const r = new ReadableStream(); r.getReader(); r.getReader(); }),
        Object.prototype.toString.call(rs), ReadableStream.name, typeof ReadableStreamDefaultReader];
    `);
    assert.deepEqual(out, [
      true,
      false,
      [
        { value: 'a1', done: false },
        { value: 'b2', done: false },
        { value: undefined, done: true },
      ],
      'why',
      'TypeError: This stream has already been locked for exclusive reading by another reader',
      '[object ReadableStream]',
      'ReadableStream',
      'function',
    ]);
  });

  test('errors reach readers; start failing errors the stream or the constructor; enqueue after close throws', async () => {
    const out = await evalPrelude(`
      const failing = new ReadableStream({ start(c) { c.error(new TypeError('broken')); } });
      const rejecting = new ReadableStream({ async start() { throw new RangeError('start failed'); } });
      let afterClose;
      new ReadableStream({ start(c) { c.close(); afterClose = thrown(() => c.enqueue('x')); } });
      return [await rejected(() => failing.getReader().read()), await rejected(() => rejecting.getReader().read()),
        thrown(() => new ReadableStream({ start() { throw new SyntaxError('thrown in start'); } })), afterClose];
    `);
    assert.deepEqual(out, [
      'TypeError: broken',
      'RangeError: start failed',
      'SyntaxError: thrown in start',
      'TypeError: The stream is not in a state that permits enqueue',
    ]);
  });

  test('byte streams: BYOB reads fill the caller buffer; autoAllocateChunkSize; zero-length enqueue throws', async () => {
    const out = await evalPrelude(`
      const rs = new ReadableStream({
        type: 'bytes',
        start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.close(); },
      });
      const reader = rs.getReader({ mode: 'byob' });
      const a = await reader.read(new Uint8Array(2));
      const b = await reader.read(new Uint8Array(8));
      const end = await reader.read(new Uint8Array(1));
      const auto = new ReadableStream({
        type: 'bytes', autoAllocateChunkSize: 4,
        pull(c) { const v = c.byobRequest.view; v[0] = 9; c.byobRequest.respond(1); c.close(); },
      });
      const autoRead = await auto.getReader().read();
      let zero;
      new ReadableStream({ type: 'bytes', start(c) { zero = thrown(() => c.enqueue(new Uint8Array(0))); } });
      return [[...a.value], [...b.value], end.done, [...autoRead.value], zero,
        thrown(() => new ReadableStream().getReader({ mode: 'byob' }))];
    `);
    assert.deepEqual(out, [
      [1, 2],
      [3, 4, 5],
      true,
      [9],
      'TypeError: chunk must have non-zero byteLength',
      'TypeError: Cannot construct a ReadableStreamBYOBReader for a stream not constructed with a byte source',
    ]);
  });

  test('tee, async iteration (break cancels), ReadableStream.from', async () => {
    const out = await evalPrelude(`
      const [left, right] = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } }).tee();
      const seen = [];
      for await (const v of left) seen.push('L' + v);
      for await (const v of right.values()) seen.push('R' + v);
      let cancelled = false;
      const endless = new ReadableStream({ pull(c) { c.enqueue('x'); }, cancel() { cancelled = true; } });
      for await (const v of endless) { seen.push(v); break; }
      const fromIterable = [];
      for await (const v of ReadableStream.from((async function* () { yield 'g1'; yield 'g2'; })())) fromIterable.push(v);
      for await (const v of ReadableStream.from(['arr'])) fromIterable.push(v);
      return [seen, cancelled, endless.locked, fromIterable];
    `);
    assert.deepEqual(out, [['L1', 'L2', 'R1', 'R2', 'x'], true, false, ['g1', 'g2', 'arr']]);
  });
});

describe('WritableStream, TransformStream and piping', () => {
  test('a writer writes in order, waits for ready, closes; abort reaches the sink', async () => {
    const out = await evalPrelude(`
      const written = [];
      const ws = new WritableStream({ write(chunk) { written.push(chunk); }, close() { written.push('closed'); } },
        new CountQueuingStrategy({ highWaterMark: 2 }));
      const writer = ws.getWriter();
      const size = writer.desiredSize;
      await writer.ready;
      writer.write('a');
      writer.write('b');
      await writer.close();
      let aborted;
      const other = new WritableStream({ abort(reason) { aborted = reason; } });
      await other.getWriter().abort('stopped');
      const failing = new WritableStream({ write() { throw new Error('sink failed'); } });
      const failingWriter = failing.getWriter();
      return [size, written, aborted, await rejected(() => failingWriter.write('x')), await rejected(() => failingWriter.closed)];
    `);
    assert.deepEqual(out, [2, ['a', 'b', 'closed'], 'stopped', 'Error: sink failed', 'Error: sink failed']);
  });

  test('pipeThrough a TransformStream, pipeTo a WritableStream; flush runs at the end', async () => {
    const out = await evalPrelude(`
      const upper = new TransformStream({
        transform(chunk, c) { c.enqueue(chunk.toUpperCase()); },
        flush(c) { c.enqueue('!'); },
      });
      const got = [];
      await new ReadableStream({ start(c) { c.enqueue('ab'); c.enqueue('cd'); c.close(); } })
        .pipeThrough(upper)
        .pipeTo(new WritableStream({ write(chunk) { got.push(chunk); } }));
      const identity = new TransformStream();
      const w = identity.writable.getWriter();
      w.write(1); w.close();
      const r = identity.readable.getReader();
      return [got, [await r.read(), await r.read()], thrown(() => new TransformStream({ readableType: 'bytes' }))];
    `);
    assert.deepEqual(out, [
      ['AB', 'CD', '!'],
      [
        { value: 1, done: false },
        { value: undefined, done: true },
      ],
      'RangeError: Invalid readableType specified',
    ]);
  });

  test('pipeTo stops on an AbortSignal with its reason, cancelling the source and aborting the sink', async () => {
    const out = await evalPrelude(`
      const controller = new AbortController();
      let cancelled, aborted;
      const source = new ReadableStream({ pull(c) { c.enqueue('tick'); }, cancel(r) { cancelled = r.name ?? r; } }, { highWaterMark: 0 });
      let writes = 0;
      const sink = new WritableStream({
        write() { writes += 1; if (writes === 3) controller.abort(); },
        abort(r) { aborted = r.name; },
      });
      const result = await rejected(() => source.pipeTo(sink, { signal: controller.signal }));
      const pre = await rejected(() => new ReadableStream().pipeTo(new WritableStream(), { signal: AbortSignal.abort(new TypeError('already')) }));
      return [result, cancelled, aborted, pre];
    `);
    assert.deepEqual(out, [
      'AbortError: This operation was aborted',
      'AbortError',
      'AbortError',
      'TypeError: already',
    ]);
  });

  test('queuing strategies: ByteLengthQueuingStrategy sizes by bytes; desiredSize follows', async () => {
    const out = await evalPrelude(`
      const strategy = new ByteLengthQueuingStrategy({ highWaterMark: 10 });
      let controller;
      new ReadableStream({ start(c) { controller = c; } }, strategy);
      const before = controller.desiredSize;
      controller.enqueue(new Uint8Array(4));
      return [strategy.highWaterMark, strategy.size(new Uint8Array(7)), before, controller.desiredSize,
        new CountQueuingStrategy({ highWaterMark: 3 }).size('anything'), thrown(() => new CountQueuingStrategy())];
    `);
    assert.deepEqual(out, [10, 7, 10, 6, 1, "TypeError: Parameter 1 is required in 'CountQueuingStrategy'."]);
  });
});

describe('TextEncoderStream and TextDecoderStream', () => {
  const pipe = `
    const run = async (transform, chunks) => {
      const out = [];
      await ReadableStream.from(chunks).pipeThrough(transform).pipeTo(new WritableStream({ write(c) { out.push(c); } }));
      return out;
    };`;

  test('the encoder keeps a surrogate pair split across chunks whole; a lone one becomes U+FFFD', async () => {
    const out = await evalPrelude(`${pipe}
      const pair = '\\u{1F600}';
      const split = await run(new TextEncoderStream(), ['a' + pair[0], pair[1] + 'b', '', 'end' + pair[0]]);
      return [split.map((c) => [...c]), new TextEncoderStream().encoding, Object.prototype.toString.call(new TextEncoderStream())];
    `);
    assert.deepEqual(out, [
      [[0x61], [0xf0, 0x9f, 0x98, 0x80, 0x62], [0x65, 0x6e, 0x64], [0xef, 0xbf, 0xbd]],
      'utf-8',
      '[object TextEncoderStream]',
    ]);
  });

  test('the decoder joins sequences split across chunks, strips the BOM, and errors in fatal mode', async () => {
    const out = await evalPrelude(`${pipe}
      const bytes = [0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xe2, 0x82, 0xac];
      const chunks = bytes.map((b) => new Uint8Array([b]));
      const text = (await run(new TextDecoderStream(), chunks)).join('');
      const truncated = (await run(new TextDecoderStream(), [new Uint8Array([0x61, 0xe2, 0x82])])).join('');
      const fatal = await rejected(() => run(new TextDecoderStream('utf-8', { fatal: true }), [new Uint8Array([0xff])]));
      const notBytes = await rejected(() => run(new TextDecoderStream(), ['text']));
      const d = new TextDecoderStream('UTF8', { ignoreBOM: true });
      return [text, truncated, fatal, notBytes, [d.encoding, d.fatal, d.ignoreBOM], thrown(() => new TextDecoderStream('latin1'))];
    `);
    assert.deepEqual(out, [
      'hé€',
      'a\ufffd',
      'TypeError: The encoded data was not valid for encoding utf-8',
      'TypeError: TextDecoderStream: chunks must be ArrayBuffer or ArrayBufferView',
      ['utf-8', false, true],
      'RangeError: The "latin1" encoding is not supported',
    ]);
  });
});
