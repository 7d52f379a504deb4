import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalPrelude } from './harness.js';

/** Byte sequences with every kind of UTF-8 error; Node's own TextDecoder is the reference. */
const INVALID_UTF8: number[][] = [
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xf0, 0x9f, 0x98, 0x41],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80],
  [0xff, 0xfe, 0x41],
  [0x80, 0x41, 0xbf],
  [0x61, 0xe2, 0x28, 0xa1, 0x62],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41],
];

const STRINGS = [
  '',
  'ascii',
  'héllo',
  '€uro',
  '日本語',
  '😀 emoji 🎉',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udbff\udfff',
];

describe('TextEncoder', () => {
  test('encodes like Node, lone surrogates as U+FFFD', async () => {
    const out = await evalPrelude<number[][]>(`
      const enc = new TextEncoder();
      return ${JSON.stringify(STRINGS)}.map((s) => [...enc.encode(s)]);
    `);
    const enc = new TextEncoder();
    assert.deepEqual(
      out,
      STRINGS.map((s) => [...enc.encode(s)]),
    );
  });

  test('encode() without argument, encoding, and encodeInto()', async () => {
    const out = await evalPrelude(`
      const enc = new TextEncoder();
      const dest = new Uint8Array(5);
      const r1 = enc.encodeInto('a€b', dest);
      const small = new Uint8Array(3);
      const r2 = enc.encodeInto('ab😀', small);
      return [enc.encoding, enc.encode().length, r1, [...dest], r2, [...small], thrown(() => enc.encodeInto('x', []))];
    `);
    assert.deepEqual(out, [
      'utf-8',
      0,
      { read: 3, written: 5 },
      [0x61, 0xe2, 0x82, 0xac, 0x62],
      { read: 2, written: 2 },
      [0x61, 0x62, 0],
      'TypeError: TextEncoder.encodeInto: destination must be a Uint8Array',
    ]);
  });
});

describe('TextDecoder', () => {
  test('replaces invalid sequences with U+FFFD exactly as Node does', async () => {
    const out = await evalPrelude<string[]>(`
      const dec = new TextDecoder();
      return ${JSON.stringify(INVALID_UTF8)}.map((b) => dec.decode(new Uint8Array(b)));
    `);
    const dec = new TextDecoder();
    assert.deepEqual(
      out,
      INVALID_UTF8.map((b) => dec.decode(new Uint8Array(b))),
    );
  });

  test('round-trips valid text and accepts any BufferSource', async () => {
    const out = await evalPrelude(`
      const dec = new TextDecoder();
      const bytes = new TextEncoder().encode('héllo 😀');
      return [
        dec.decode(bytes),
        dec.decode(bytes.buffer),
        dec.decode(new DataView(bytes.buffer, 1, 2)),
        dec.decode(),
        thrown(() => dec.decode('not bytes')),
      ];
    `);
    assert.deepEqual(out, [
      'héllo 😀',
      'héllo 😀',
      'é',
      '',
      'TypeError: TextDecoder.decode: expected an ArrayBuffer or ArrayBufferView',
    ]);
  });

  test('fatal mode throws TypeError and recovers for the next call', async () => {
    const out = await evalPrelude(`
      const dec = new TextDecoder('utf-8', { fatal: true });
      return [dec.fatal, thrown(() => dec.decode(new Uint8Array([0x61, 0xff]))), thrown(() => dec.decode(new Uint8Array([0xe2, 0x82]))),
        dec.decode(new Uint8Array([0x62]))];
    `);
    assert.deepEqual(out, [
      true,
      'TypeError: The encoded data was not valid for encoding utf-8',
      'TypeError: The encoded data was not valid for encoding utf-8',
      'b',
    ]);
  });

  test('BOM: stripped once at the start of a stream unless ignoreBOM', async () => {
    const out = await evalPrelude(`
      const bom = [0xef, 0xbb, 0xbf];
      const dec = new TextDecoder();
      const keep = new TextDecoder('utf-8', { ignoreBOM: true });
      const streamed = new TextDecoder();
      return [
        dec.decode(new Uint8Array([...bom, 0x41])),
        dec.decode(new Uint8Array([...bom, 0x42])),
        keep.decode(new Uint8Array([...bom, 0x41])).length,
        keep.ignoreBOM,
        streamed.decode(new Uint8Array([0xef, 0xbb]), { stream: true }) + streamed.decode(new Uint8Array([0xbf, 0x43, ...bom])),
      ];
    `);
    assert.deepEqual(out, ['A', 'B', 2, true, 'C\ufeff']);
  });

  test('stream: a sequence split across chunks is joined', async () => {
    const out = await evalPrelude(`
      const bytes = new TextEncoder().encode('a😀b€');
      const dec = new TextDecoder();
      let text = '';
      for (const b of bytes) text += dec.decode(new Uint8Array([b]), { stream: true });
      const unfinished = new TextDecoder();
      const part = unfinished.decode(new Uint8Array([0xf0, 0x9f]), { stream: true });
      return [text + dec.decode(), part, unfinished.decode()];
    `);
    assert.deepEqual(out, ['a😀b€', '', '\ufffd']);
  });

  test('labels: utf-8 aliases accepted, other encodings RangeError', async () => {
    const out = await evalPrelude(`
      return [new TextDecoder(' UTF8 ').encoding, new TextDecoder('unicode-1-1-utf-8').encoding,
        thrown(() => new TextDecoder('latin1')), thrown(() => new TextDecoder('utf-16le'))];
    `);
    assert.deepEqual(out, [
      'utf-8',
      'utf-8',
      'RangeError: The "latin1" encoding is not supported',
      'RangeError: The "utf-16le" encoding is not supported',
    ]);
  });

  test('decodes a large buffer (1 MiB) correctly', async () => {
    const out = await evalPrelude(`
      const text = 'x€😀'.repeat(1 << 17);
      const back = new TextDecoder().decode(new TextEncoder().encode(text));
      return [back.length, back === text];
    `);
    assert.deepEqual(out, [4 * (1 << 17), true]);
  });
});

describe('atob / btoa', () => {
  const binary = ['', 'a', 'ab', 'abc', 'abcd', '\u0000\u00ff\u0080', 'hello world'];
  const base64 = ['', 'YQ==', 'YWI=', 'YWJj', 'YW Jj\n', 'YQ', 'YWI', '////', 'AA=='];

  test('match Node', async () => {
    const out = await evalPrelude(`
      return [${JSON.stringify(binary)}.map((s) => btoa(s)), ${JSON.stringify(base64)}.map((s) => atob(s))];
    `);
    assert.deepEqual(out, [binary.map((s) => btoa(s)), base64.map((s) => atob(s))]);
  });

  test('invalid input throws DOMException InvalidCharacterError', async () => {
    const out = await evalPrelude(`
      const e = (fn) => { try { fn(); return 'no error'; } catch (err) { return [err instanceof DOMException, err.name, err.code]; } };
      return [e(() => btoa('\\u0100')), e(() => atob('a')), e(() => atob('ab=c')), e(() => atob('@@@@')), e(() => atob('YQ===')),
        thrown(() => atob())];
    `);
    assert.deepEqual(out, [
      [true, 'InvalidCharacterError', 5],
      [true, 'InvalidCharacterError', 5],
      [true, 'InvalidCharacterError', 5],
      [true, 'InvalidCharacterError', 5],
      [true, 'InvalidCharacterError', 5],
      'TypeError: atob: 1 argument required, but only 0 present',
    ]);
  });
});
