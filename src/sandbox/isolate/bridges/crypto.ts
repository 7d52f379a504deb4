/**
 * Host side of the isolate's `crypto` (src/runtime/crypto.ts, subtle.ts): random bytes for the
 * isolate's entropy pool, and `crypto.subtle` done by node:crypto's WebCrypto, which validates
 * every argument and throws the DOMExceptions the spec names.
 *
 * Keys live in the isolate. A key's material travels as a JWK (the one format every key type can
 * be exported in): generateKey and importKey return it, and each operation sends it back and
 * re-imports it here, non-extractable and with only the usage it needs. Usage and algorithm
 * checks happen in the isolate, where the key's flags are.
 */
import { randomFillSync, webcrypto } from 'node:crypto';
import type { CryptoOps, KeyRecord } from '../../ops/index.js';
import type { BridgeTable } from './types.js';

/** One `getRandomValues` may ask for this much (Web Crypto's quota); the pool asks for less. */
const MAX_RANDOM_BYTES = 65_536;

type CryptoKey = webcrypto.CryptoKey;
type Jwk = webcrypto.JsonWebKey;

/** node's SubtleCrypto, with arguments as they arrive from the isolate: node checks them all. */
interface LooseSubtle {
  digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer>;
  importKey(
    format: unknown,
    data: unknown,
    algorithm: unknown,
    extractable: boolean,
    usages: unknown,
  ): Promise<CryptoKey>;
  exportKey(format: unknown, key: CryptoKey): Promise<ArrayBuffer | Jwk>;
  generateKey(
    algorithm: unknown,
    extractable: boolean,
    usages: unknown,
  ): Promise<CryptoKey | webcrypto.CryptoKeyPair>;
  sign(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer>;
  verify(algorithm: unknown, key: CryptoKey, signature: unknown, data: unknown): Promise<boolean>;
  encrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer>;
  decrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer>;
}

const subtle = webcrypto.subtle as unknown as LooseSubtle;

async function record(key: CryptoKey): Promise<KeyRecord> {
  const material = (await subtle.exportKey('jwk', key)) as Jwk;
  return { type: key.type, algorithm: key.algorithm, usages: [...key.usages], material };
}

/** Re-imports a key's material for one operation. */
function useKey(material: unknown, algorithm: unknown, usage: string): Promise<CryptoKey> {
  return subtle.importKey('jwk', material, algorithm, false, [usage]);
}

export const CRYPTO_BRIDGES: BridgeTable<keyof CryptoOps> = {
  'crypto.random': (_ctx, [size]) => {
    if (typeof size !== 'number' || !(size >= 0 && size <= MAX_RANDOM_BYTES))
      throw new RangeError(`crypto.random: size must be 0 to ${MAX_RANDOM_BYTES} bytes`);
    return randomFillSync(new Uint8Array(size));
  },

  'crypto.digest': (_ctx, [algorithm, data]) => subtle.digest(algorithm, data),

  'crypto.importKey': async (_ctx, [format, data, algorithm, extractable, usages]) => {
    // First as asked, which checks what the spec checks (a JWK's `ext` against `extractable`, ...);
    // then extractable, to take the material out.
    await subtle.importKey(format, data, algorithm, extractable === true, usages);
    const copy =
      format === 'jwk' && data !== null && typeof data === 'object' ? { ...data, ext: true } : data;
    return record(await subtle.importKey(format, copy, algorithm, true, usages));
  },

  'crypto.generateKey': async (_ctx, [algorithm, usages]) => {
    const made = await subtle.generateKey(algorithm, true, usages);
    if ('privateKey' in made)
      return { publicKey: await record(made.publicKey), privateKey: await record(made.privateKey) };
    return record(made);
  },

  'crypto.exportKey': async (_ctx, [format, material, keyAlgorithm, usages]) =>
    subtle.exportKey(format, await subtle.importKey('jwk', material, keyAlgorithm, true, usages)),

  'crypto.sign': async (_ctx, [algorithm, material, keyAlgorithm, data]) =>
    subtle.sign(algorithm, await useKey(material, keyAlgorithm, 'sign'), data),

  'crypto.verify': async (_ctx, [algorithm, material, keyAlgorithm, signature, data]) =>
    subtle.verify(algorithm, await useKey(material, keyAlgorithm, 'verify'), signature, data),

  'crypto.encrypt': async (_ctx, [algorithm, material, keyAlgorithm, data]) =>
    subtle.encrypt(algorithm, await useKey(material, keyAlgorithm, 'encrypt'), data),

  'crypto.decrypt': async (_ctx, [algorithm, material, keyAlgorithm, data]) =>
    subtle.decrypt(algorithm, await useKey(material, keyAlgorithm, 'decrypt'), data),
};
