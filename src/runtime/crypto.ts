/**
 * The `crypto` global (Web Crypto): `getRandomValues`, `randomUUID` and `subtle` (subtle.ts).
 *
 * Random bytes come from the host's CSPRNG. getRandomValues is synchronous, and a synchronous
 * bridge call blocks the isolate on a round trip to the host thread, so small requests are served
 * from a per-isolate pool of host bytes refilled through one such call. The pool starts empty
 * (it is never part of the snapshot, so no two isolates share bytes) and every byte is handed out
 * once, then zeroed.
 */
import { hostCallSync } from './bridge.js';
import { defineGlobal } from './define.js';
import { DOMException } from './dom-exception.js';
import { createSubtleCrypto, CryptoKey, SubtleCrypto } from './subtle.js';

/** Web Crypto's quota for one getRandomValues call. (bytes) */
const MAX_RANDOM_BYTES = 65_536;
/** One refill of the pool. (bytes) */
const POOL_BYTES = 4_096;
/** Larger requests bypass the pool. (bytes) */
const POOLED_MAX = 256;

const INTEGER_ARRAYS = new Set([
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
]);

/** %TypedArray%.prototype[@@toStringTag]: the kind of a typed array, whatever user code patched. */
const typedArrayKind = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

const pool: { bytes: Uint8Array; offset: number } = { bytes: new Uint8Array(0), offset: 0 };

function hostRandom(size: number): Uint8Array {
  let bytes: unknown;
  try {
    bytes = hostCallSync('crypto.random', [size]);
  } catch (err) {
    // Outside a call (a module's top level) the host refuses; say what to do instead.
    if (err instanceof Error && err.message === 'the invocation has ended')
      throw new Error(
        'random values can only be generated while handling a request, not at the top level of the module',
        { cause: err },
      );
    throw err;
  }
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== size)
    throw new DOMException('the host gave no random bytes', 'OperationError');
  return bytes;
}

/** Fills `target` with random bytes, each used once. */
function fillRandom(target: Uint8Array): void {
  if (target.byteLength > POOLED_MAX) {
    target.set(hostRandom(target.byteLength));
    return;
  }
  if (pool.bytes.byteLength - pool.offset < target.byteLength) {
    pool.bytes.fill(0);
    pool.bytes = hostRandom(POOL_BYTES);
    pool.offset = 0;
  }
  const end = pool.offset + target.byteLength;
  target.set(pool.bytes.subarray(pool.offset, end));
  pool.bytes.fill(0, pool.offset, end);
  pool.offset = end;
}

export function getRandomValues<T>(array: T): T {
  if (!ArrayBuffer.isView(array))
    throw new TypeError('crypto.getRandomValues: the argument must be an integer typed array');
  const kind = typedArrayKind.call(array);
  if (kind === undefined || !INTEGER_ARRAYS.has(kind))
    throw new DOMException(
      `crypto.getRandomValues: ${kind ?? 'DataView'} is not an integer typed array`,
      'TypeMismatchError',
    );
  if (array.byteLength > MAX_RANDOM_BYTES)
    throw new DOMException(
      `crypto.getRandomValues: ${array.byteLength} bytes requested, over the limit of ${MAX_RANDOM_BYTES}`,
      'QuotaExceededError',
    );
  fillRandom(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}

const HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1));

/** A version 4 UUID (RFC 9562): 122 random bits. */
export function randomUUID(): string {
  const bytes = new Uint8Array(16);
  fillRandom(bytes);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => HEX[byte] as string);
  const part = (from: number, to?: number): string => hex.slice(from, to).join('');
  return [part(0, 4), part(4, 6), part(6, 8), part(8, 10), part(10)].join('-');
}

let illegal = true;

export class Crypto {
  readonly #subtle: SubtleCrypto;

  constructor() {
    if (illegal) throw new TypeError('Illegal constructor');
    this.#subtle = createSubtleCrypto();
  }

  get subtle(): SubtleCrypto {
    return this.#subtle;
  }

  getRandomValues<T>(array: T): T {
    return getRandomValues(array);
  }

  randomUUID(): string {
    return randomUUID();
  }

  get [Symbol.toStringTag](): string {
    return 'Crypto';
  }
}

export function installCryptoGlobals(): void {
  illegal = false;
  const crypto = new Crypto();
  illegal = true;
  defineGlobal('crypto', crypto);
  defineGlobal('Crypto', Crypto);
  defineGlobal('SubtleCrypto', SubtleCrypto);
  defineGlobal('CryptoKey', CryptoKey);
}
