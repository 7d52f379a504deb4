/**
 * `crypto` inside an isolate (src/runtime/crypto.ts, subtle.ts) against the real host bridge:
 * known-answer vectors, key handling, usage checks, the DOMException names Web Crypto specifies,
 * and getRandomValues' limits and freshness.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalBridged } from './bridged.js';

/** In-isolate helpers: hex of a buffer, bytes of a string or of hex. */
const HEX = `
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const utf8 = (s) => new TextEncoder().encode(s);
const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
`;

async function run<T>(body: string): Promise<T> {
  return (await evalBridged<T>(`${HEX}\n${body}`)).value;
}

describe('crypto.subtle', () => {
  test('digest: SHA-1/256/384/512 of "abc" (FIPS 180 examples)', async () => {
    const value = await run<string[]>(`
      const out = [];
      for (const name of ['SHA-1', 'SHA-256', { name: 'sha-384' }, 'SHA-512'])
        out.push(hex(await crypto.subtle.digest(name, utf8('abc'))));
      const ab = await crypto.subtle.digest('SHA-256', utf8('abc').buffer);
      out.push(Object.prototype.toString.call(ab));
      return out;
    `);
    assert.deepEqual(value, [
      'a9993e364706816aba3e25717850c26c9cd0d89d',
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      '[object ArrayBuffer]',
    ]);
  });

  test('HMAC-SHA256: RFC 4231 test case 2; verify accepts it and rejects a changed message', async () => {
    const value = await run<unknown[]>(`
      const key = await crypto.subtle.importKey('raw', utf8('Jefe'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      const data = utf8('what do ya want for nothing?');
      const mac = await crypto.subtle.sign('HMAC', key, data);
      return [hex(mac), await crypto.subtle.verify('HMAC', key, mac, data),
        await crypto.subtle.verify({ name: 'HMAC' }, key, mac, utf8('what do ya want for nothing!')),
        key.type, key.extractable, key.algorithm, key.usages];
    `);
    assert.deepEqual(value, [
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      true,
      false,
      'secret',
      false,
      { name: 'HMAC', hash: { name: 'SHA-256' }, length: 32 },
      ['sign', 'verify'],
    ]);
  });

  test('AES-GCM: NIST test case 2, a round trip with additional data, and tampering is an OperationError', async () => {
    const value = await run<unknown[]>(`
      const zero = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']);
      const kat = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, zero, new Uint8Array(16));
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const params = { name: 'AES-GCM', iv, additionalData: utf8('header'), tagLength: 96 };
      const sealed = await crypto.subtle.encrypt(params, key, utf8('attack at dawn'));
      const opened = new TextDecoder().decode(await crypto.subtle.decrypt(params, key, sealed));
      const tampered = new Uint8Array(sealed); tampered[0] ^= 1;
      return [hex(kat), sealed.byteLength, opened,
        await rejected(() => crypto.subtle.decrypt(params, key, tampered)),
        await rejected(() => crypto.subtle.decrypt({ ...params, additionalData: utf8('other') }, key, sealed))];
    `);
    assert.equal(value[0], '0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf');
    assert.equal(value[1], 14 + 12);
    assert.equal(value[2], 'attack at dawn');
    assert.match(value[3] as string, /^OperationError: /);
    assert.match(value[4] as string, /^OperationError: /);
  });

  test('errors are DOMExceptions with the names Web Crypto specifies', async () => {
    const value = await run<string[]>(`
      const signOnly = await crypto.subtle.importKey('raw', utf8('k'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
      const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
      const badUsage = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['sign'])
        .then(() => 'no error', (e) => e.name + (e instanceof DOMException ? ' (DOMException)' : ''));
      return [
        await rejected(() => crypto.subtle.verify('HMAC', signOnly, new Uint8Array(32), utf8('x'))),
        await rejected(() => crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, signOnly, utf8('x'))),
        await rejected(() => crypto.subtle.exportKey('raw', aes)),
        await rejected(() => crypto.subtle.digest('MD5', utf8('x'))),
        badUsage,
        await rejected(() => crypto.subtle.sign('HMAC', {}, utf8('x'))),
        await rejected(() => crypto.subtle.digest('SHA-256', 'not bytes')),
        await rejected(() => crypto.subtle.importKey('jwk', { kty: 'oct', k: 'AAAA', ext: false }, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])),
      ];
    `);
    assert.match(value[0] as string, /^InvalidAccessError: verify: the key's usages do not include "verify"/);
    assert.match(value[1] as string, /^InvalidAccessError: encrypt: the key is for HMAC, not AES-GCM/);
    assert.equal(value[2], 'InvalidAccessError: exportKey: the key is not extractable');
    assert.match(value[3] as string, /^NotSupportedError: /);
    assert.equal(value[4], 'SyntaxError (DOMException)');
    assert.equal(value[5], 'TypeError: sign: the key must be a CryptoKey');
    assert.match(value[6] as string, /^TypeError: /);
    assert.match(value[7] as string, /^DataError: /);
  });

  test('importKey jwk and exportKey raw/jwk round-trip; generated HMAC keys have the hash block size', async () => {
    const value = await run<unknown[]>(`
      const jwk = { kty: 'oct', k: 'AQIDBAUGBwgJCgsMDQ4PEA', alg: 'HS256', ext: true };
      const key = await crypto.subtle.importKey('jwk', jwk, { name: 'HMAC', hash: { name: 'SHA-256' } }, true, ['sign', 'verify']);
      const raw = hex(await crypto.subtle.exportKey('raw', key));
      const back = await crypto.subtle.exportKey('jwk', key);
      const generated = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
      const mac = await crypto.subtle.sign('HMAC', key, utf8('m'));
      const again = await crypto.subtle.importKey('raw', unhex(raw), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      return [raw, back.k, back.alg, back.ext, back.key_ops, generated.algorithm, generated.extractable,
        await crypto.subtle.verify('HMAC', again, mac, utf8('m'))];
    `);
    assert.deepEqual(value, [
      '0102030405060708090a0b0c0d0e0f10',
      'AQIDBAUGBwgJCgsMDQ4PEA',
      'HS256',
      true,
      ['sign', 'verify'],
      { name: 'HMAC', hash: { name: 'SHA-512' }, length: 1024 },
      false,
      true,
    ]);
  });

  test('a CryptoKey shows no key material and cannot be made or changed from user code', async () => {
    const value = await run<unknown[]>(`
      const key = await crypto.subtle.importKey('raw', utf8('secret!'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      key.algorithm.name = 'AES-GCM';
      key.usages.push('verify');
      const stillWorks = hex(await crypto.subtle.sign('HMAC', key, utf8('x'))).length;
      return [Object.getOwnPropertyNames(key), JSON.stringify(key), String(key), thrown(() => new CryptoKey()),
        thrown(() => new SubtleCrypto()), thrown(() => new Crypto()), stillWorks,
        await rejected(() => crypto.subtle.verify('HMAC', key, new Uint8Array(32), utf8('x')))];
    `);
    assert.deepEqual(value.slice(0, 7), [
      [],
      '{}',
      '[object CryptoKey]',
      'TypeError: Illegal constructor',
      'TypeError: Illegal constructor',
      'TypeError: Illegal constructor',
      64,
    ]);
    assert.match(value[7] as string, /^InvalidAccessError/);
  });
});

describe('crypto.getRandomValues / randomUUID', () => {
  test('fills integer typed arrays in place, up to 65536 bytes', async () => {
    const value = await run<unknown[]>(`
      const arrays = [new Int8Array(64), new Uint8ClampedArray(64), new Uint16Array(64), new Int32Array(64),
        new BigUint64Array(8), new Uint8Array(65536)];
      const same = arrays.every((a) => crypto.getRandomValues(a) === a);
      const nonZero = arrays.every((a) => a.some((v) => v != 0));
      const view = new Uint8Array(new ArrayBuffer(32), 8, 16);
      crypto.getRandomValues(view);
      const outside = new Uint8Array(view.buffer);
      return [same, nonZero, outside.slice(0, 8).every((v) => v === 0) && outside.slice(24).every((v) => v === 0)];
    `);
    assert.deepEqual(value, [true, true, true]);
  });

  test('limits: over 65536 bytes is QuotaExceededError, float arrays and DataView TypeMismatchError', async () => {
    const value = await run<string[]>(`
      return [
        thrown(() => crypto.getRandomValues(new Uint8Array(65537))),
        thrown(() => crypto.getRandomValues(new Uint32Array(16385))),
        thrown(() => crypto.getRandomValues(new Float32Array(4))),
        thrown(() => crypto.getRandomValues(new Float64Array(4))),
        thrown(() => crypto.getRandomValues(new DataView(new ArrayBuffer(4)))),
        thrown(() => crypto.getRandomValues([1, 2, 3])),
        thrown(() => crypto.getRandomValues()),
        String(new DOMException('', 'QuotaExceededError').code),
      ];
    `);
    assert.match(value[0] as string, /^QuotaExceededError: .*65537 bytes/);
    assert.match(value[1] as string, /^QuotaExceededError: /);
    assert.match(value[2] as string, /^TypeMismatchError: .*Float32Array/);
    assert.match(value[3] as string, /^TypeMismatchError: /);
    assert.match(value[4] as string, /^TypeMismatchError: .*DataView/);
    assert.match(value[5] as string, /^TypeError: /);
    assert.match(value[6] as string, /^TypeError: /);
  });

  test('bytes are never handed out twice, within an isolate or across isolates', async () => {
    const body = `
      const seen = new Set();
      for (let i = 0; i < 2000; i++) seen.add(hex(crypto.getRandomValues(new Uint8Array(16))));
      return [seen.size, hex(crypto.getRandomValues(new Uint8Array(16)))];
    `;
    const [a, b] = await Promise.all([run<[number, string]>(body), run<[number, string]>(body)]);
    assert.equal(a[0], 2000);
    assert.equal(b[0], 2000);
    assert.notEqual(a[1], b[1]);
  });

  test('randomUUID is a version 4 UUID and unique', async () => {
    const value = await run<[boolean, number]>(`
      const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
      const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      return [ids.every((id) => shape.test(id)), new Set(ids).size];
    `);
    assert.deepEqual(value, [true, 1000]);
  });
});
