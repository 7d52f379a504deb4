/**
 * `crypto.subtle` and CryptoKey. The cryptography runs in the host (node:crypto's WebCrypto,
 * src/sandbox/isolate/bridges/crypto.ts); what the spec asks of the caller's side runs here:
 * arguments are normalised to plain data, a key's algorithm must match the operation's and its
 * usages must include the operation (else InvalidAccessError), non-extractable keys cannot be
 * exported. A CryptoKey keeps its material (a JWK) in a private field and sends it with each
 * operation; user code can read only type, extractable, algorithm and usages.
 */
import type { CryptoOps, KeyRecord, OpArgs, OpResult } from '../sandbox/ops/map.js';
import { hostCallForCall } from './bridge.js';
import { DOMException } from './dom-exception.js';
import { toBytes } from './encoding.js';

type Algorithm = Record<string, unknown>;

/** Members of Web Crypto's algorithm dictionaries that carry data through to the host. */
const MEMBERS = [
  'name',
  'hash',
  'length',
  'iv',
  'additionalData',
  'tagLength',
  'counter',
  'namedCurve',
  'salt',
  'info',
  'iterations',
  'saltLength',
  'publicExponent',
  'modulusLength',
  'label',
];
/** Algorithm names node's WebCrypto implements; others fail here, as the spec's normalisation does. */
const KNOWN = new Set([
  'AES-CBC',
  'AES-CTR',
  'AES-GCM',
  'AES-KW',
  'ECDH',
  'ECDSA',
  'ED25519',
  'ED448',
  'HKDF',
  'HMAC',
  'PBKDF2',
  'RSA-OAEP',
  'RSA-PSS',
  'RSASSA-PKCS1-V1_5',
  'SHA-1',
  'SHA-256',
  'SHA-384',
  'SHA-512',
  'X25519',
  'X448',
]);

/** An algorithm identifier as plain data (strings, numbers, booleans, byte copies). */
function normalize(algorithm: unknown, what: string): Algorithm {
  if (typeof algorithm === 'string') algorithm = { name: algorithm };
  if (algorithm === null || typeof algorithm !== 'object')
    throw new TypeError(`${what}: the algorithm must be a name or an object with a name`);
  const out: Algorithm = {};
  for (const key of MEMBERS) {
    const value = (algorithm as Algorithm)[key];
    if (value === undefined) continue;
    if (key === 'hash') out[key] = normalize(value, what);
    else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value))
      out[key] = toBytes(value, what).slice();
    else if (typeof value === 'object' || typeof value === 'function')
      throw new TypeError(`${what}: algorithm.${key} has an unsupported type`);
    else out[key] = value;
  }
  if (out.name === undefined) throw new TypeError(`${what}: the algorithm has no name`);
  const name = String(out.name);
  if (!KNOWN.has(name.toUpperCase()))
    throw new DOMException(`${what}: unrecognized algorithm name "${name}"`, 'NotSupportedError');
  out.name = name;
  return out;
}

function bytesOf(data: unknown, what: string): Uint8Array {
  return toBytes(data, what).slice();
}

function toArrayBuffer(value: unknown): ArrayBuffer {
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value)) return toBytes(value, 'crypto').slice().buffer;
  throw new DOMException('the host returned no data', 'OperationError');
}

/** Calls the host; a SyntaxError from Web Crypto is a DOMException of that name, not the JS error. */
async function host<K extends keyof CryptoOps>(op: K, args: OpArgs<K>): Promise<OpResult<K>> {
  try {
    return await hostCallForCall(op, args);
  } catch (err) {
    if (err instanceof SyntaxError) throw new DOMException(err.message, 'SyntaxError');
    throw err;
  }
}

/** A structured copy of plain data (algorithm objects, JWKs) so callers never share ours. */
function copy<T>(value: T): T {
  if (value instanceof Uint8Array) return value.slice() as T;
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = copy(v);
    return out as T;
  }
  return value;
}

const KEY_TOKEN: unique symbol = Symbol('CryptoKey');
let keyOf: (value: unknown, what: string) => CryptoKey;
let internals: (key: CryptoKey) => { record: KeyRecord; extractable: boolean };

export class CryptoKey {
  readonly #record: KeyRecord;
  readonly #extractable: boolean;
  /** What the getters return: copies, so changing them changes nothing here. */
  readonly #algorithm: Algorithm;
  readonly #usages: string[];

  static {
    keyOf = (value, what) => {
      if (typeof value !== 'object' || value === null || !(#record in value))
        throw new TypeError(`${what}: the key must be a CryptoKey`);
      return value;
    };
    internals = (key) => ({ record: key.#record, extractable: key.#extractable });
  }

  /** Not constructible by user code (WebIDL: "Illegal constructor"). */
  constructor(token: typeof KEY_TOKEN, record: KeyRecord, extractable: boolean) {
    if (token !== KEY_TOKEN) throw new TypeError('Illegal constructor');
    this.#record = record;
    this.#extractable = extractable;
    this.#algorithm = copy(record.algorithm);
    this.#usages = [...record.usages];
  }

  get type(): string {
    return this.#record.type;
  }

  get extractable(): boolean {
    return this.#extractable;
  }

  get algorithm(): Algorithm {
    return this.#algorithm;
  }

  get usages(): string[] {
    return this.#usages;
  }

  get [Symbol.toStringTag](): string {
    return 'CryptoKey';
  }
}

function makeKey(record: KeyRecord, extractable: boolean): CryptoKey {
  return new CryptoKey(KEY_TOKEN, record, extractable);
}

/** The key, checked for the operation as the spec does before any cryptography. */
function keyFor(value: unknown, algorithm: Algorithm, usage: string, what: string): KeyRecord {
  const { record } = internals(keyOf(value, what));
  const keyName = String(record.algorithm.name);
  if (keyName.toUpperCase() !== String(algorithm.name).toUpperCase())
    throw new DOMException(
      `${what}: the key is for ${keyName}, not ${String(algorithm.name)}`,
      'InvalidAccessError',
    );
  if (!record.usages.includes(usage))
    throw new DOMException(`${what}: the key's usages do not include "${usage}"`, 'InvalidAccessError');
  return record;
}

function usagesOf(usages: unknown, what: string): string[] {
  if (usages === null || typeof usages !== 'object' || !(Symbol.iterator in usages))
    throw new TypeError(`${what}: keyUsages must be a sequence of strings`);
  return Array.from(usages as Iterable<unknown>, String);
}

let constructing = false;

/** The one instance, `crypto.subtle`. */
export function createSubtleCrypto(): SubtleCrypto {
  constructing = true;
  try {
    return new SubtleCrypto();
  } finally {
    constructing = false;
  }
}

export class SubtleCrypto {
  constructor() {
    if (!constructing) throw new TypeError('Illegal constructor');
  }

  async digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    const alg = normalize(algorithm, 'digest');
    return toArrayBuffer(await host('crypto.digest', [alg, bytesOf(data, 'digest')]));
  }

  async importKey(
    format: unknown,
    keyData: unknown,
    algorithm: unknown,
    extractable: unknown,
    usages: unknown,
  ): Promise<CryptoKey> {
    const fmt = String(format);
    const data =
      fmt === 'jwk'
        ? (JSON.parse(JSON.stringify(keyData ?? null)) as unknown)
        : bytesOf(keyData, 'importKey');
    const args: OpArgs<'crypto.importKey'> = [
      fmt,
      data,
      normalize(algorithm, 'importKey'),
      Boolean(extractable),
      usagesOf(usages, 'importKey'),
    ];
    return makeKey(await host('crypto.importKey', args), Boolean(extractable));
  }

  async exportKey(format: unknown, key: unknown): Promise<ArrayBuffer | Record<string, unknown>> {
    const { record, extractable } = internals(keyOf(key, 'exportKey'));
    if (!extractable) throw new DOMException('exportKey: the key is not extractable', 'InvalidAccessError');
    const fmt = String(format);
    const out = await host('crypto.exportKey', [fmt, record.material, record.algorithm, record.usages]);
    return fmt === 'jwk' ? (out as Record<string, unknown>) : toArrayBuffer(out);
  }

  async generateKey(
    algorithm: unknown,
    extractable: unknown,
    usages: unknown,
  ): Promise<CryptoKey | { publicKey: CryptoKey; privateKey: CryptoKey }> {
    const made = await host('crypto.generateKey', [
      normalize(algorithm, 'generateKey'),
      usagesOf(usages, 'generateKey'),
    ]);
    if ('privateKey' in made) {
      // A key pair's public key is always extractable (Web Crypto, generateKey).
      return {
        publicKey: makeKey(made.publicKey, true),
        privateKey: makeKey(made.privateKey, Boolean(extractable)),
      };
    }
    return makeKey(made, Boolean(extractable));
  }

  async sign(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    const alg = normalize(algorithm, 'sign');
    const record = keyFor(key, alg, 'sign', 'sign');
    return toArrayBuffer(
      await host('crypto.sign', [alg, record.material, record.algorithm, bytesOf(data, 'sign')]),
    );
  }

  async verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): Promise<boolean> {
    const alg = normalize(algorithm, 'verify');
    const record = keyFor(key, alg, 'verify', 'verify');
    const args: OpArgs<'crypto.verify'> = [
      alg,
      record.material,
      record.algorithm,
      bytesOf(signature, 'verify'),
      bytesOf(data, 'verify'),
    ];
    return (await host('crypto.verify', args)) === true;
  }

  async encrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    const alg = normalize(algorithm, 'encrypt');
    const record = keyFor(key, alg, 'encrypt', 'encrypt');
    const args: OpArgs<'crypto.encrypt'> = [alg, record.material, record.algorithm, bytesOf(data, 'encrypt')];
    return toArrayBuffer(await host('crypto.encrypt', args));
  }

  async decrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    const alg = normalize(algorithm, 'decrypt');
    const record = keyFor(key, alg, 'decrypt', 'decrypt');
    const args: OpArgs<'crypto.decrypt'> = [alg, record.material, record.algorithm, bytesOf(data, 'decrypt')];
    return toArrayBuffer(await host('crypto.decrypt', args));
  }

  get [Symbol.toStringTag](): string {
    return 'SubtleCrypto';
  }
}
