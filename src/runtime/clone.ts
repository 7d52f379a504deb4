/**
 * structuredClone (HTML's structured serialisation, done in one pass): primitives, plain objects
 * and arrays (holes and extra properties kept), Boolean/Number/String/BigInt wrappers, Date,
 * RegExp, ArrayBuffer (resizable too), typed arrays and DataView (views of one buffer still share
 * its clone), Map, Set, Error types (name, message, stack, cause), Blob and File, DOMException;
 * shared references and cycles are preserved. Functions, symbols, promises, weak collections and
 * the runtime's other platform objects throw a "DataCloneError" DOMException. Prototypes are not
 * kept: a class instance comes back as a plain object. Transferring is not supported: detaching an
 * ArrayBuffer is beyond what JavaScript in this V8 can do, so a non-empty `transfer` throws.
 */
import { Blob, blobBytes, File } from './blob.js';
import { Body } from './body.js';
import { DOMException } from './dom-exception.js';
import { Event, EventTarget } from './events.js';
import { FormData } from './form-data.js';
import { Headers } from './headers.js';
import { describeValue } from './failures.js';

type Memory = Map<object, unknown>;

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

type Brand = (this: unknown) => unknown;

const getter = (proto: object, key: string): Brand =>
  (Object.getOwnPropertyDescriptor(proto, key) as PropertyDescriptor).get as Brand;

/** Brand checks: each getter throws a TypeError for anything without the internal slot. */
const BRANDS = {
  arrayBuffer: getter(ArrayBuffer.prototype, 'byteLength'),
  typedArray: getter(Object.getPrototypeOf(Uint8Array.prototype) as object, 'buffer'),
  dataView: getter(DataView.prototype, 'buffer'),
  map: getter(Map.prototype, 'size'),
  set: getter(Set.prototype, 'size'),
  regExp: getter(RegExp.prototype, 'source'),
};
/** Primitive wrappers and Date: each method throws a TypeError for anything else. */
const VALUE_OF: Record<string, Brand> = {
  boolean: Boolean.prototype.valueOf,
  number: Number.prototype.valueOf,
  string: String.prototype.valueOf,
  bigint: BigInt.prototype.valueOf,
  symbol: Symbol.prototype.valueOf,
  date: Date.prototype.getTime,
};
/** Objects of the web platform that the HTML standard does not make serialisable. */
const UNCLONEABLE: object[] = [Body, EventTarget, Event, FormData, Headers].map(
  (type) => type.prototype as object,
);

const has = (brand: Brand, value: object): boolean => {
  try {
    brand.call(value);
    return true;
  } catch {
    return false;
  }
};

const cannotClone = (value: unknown): DOMException => {
  return new DOMException(`${describeValue(value)} could not be cloned`, 'DataCloneError');
};

// A function expression (it reads `arguments`), not a declaration: see lazy.ts.
export const structuredClone = function structuredClone<T>(
  value: T,
  options?: { transfer?: Iterable<unknown> },
): T {
  if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required, but only 0 present');
  if (options !== undefined && options !== null && typeof options !== 'object')
    throw new TypeError('structuredClone: options must be an object');
  const transfer = options?.transfer;
  if (transfer !== undefined && [...transfer].length > 0)
    throw new DOMException('structuredClone: transferring objects is not supported here', 'DataCloneError');
  return cloneValue(value, new Map()) as T;
};

const cloneValue = (value: unknown, memory: Memory): unknown => {
  if (typeof value === 'symbol' || typeof value === 'function') throw cannotClone(value);
  if (value === null || typeof value !== 'object') return value;
  if (memory.has(value)) return memory.get(value);
  return cloneObject(value, memory);
};

const remember = <T extends object>(memory: Memory, from: object, to: T): T => {
  memory.set(from, to);
  return to;
};

const cloneObject = (value: object, memory: Memory): unknown => {
  for (const [kind, valueOf] of Object.entries(VALUE_OF)) {
    let inner: unknown;
    try {
      inner = valueOf.call(value);
    } catch {
      continue;
    }
    if (kind === 'symbol') throw cannotClone(value);
    return remember(memory, value, kind === 'date' ? new Date(inner as number) : Object(inner));
  }
  if (has(BRANDS.regExp, value)) {
    const re = value as RegExp;
    return remember(memory, value, new RegExp(re.source, re.flags));
  }
  if (has(BRANDS.arrayBuffer, value)) return cloneBuffer(value as ArrayBuffer, memory);
  // Not there while the snapshot is made, so looked up now.
  if (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer) throw cannotClone(value);
  if (has(BRANDS.typedArray, value) || has(BRANDS.dataView, value)) {
    const view = value as ArrayBufferView & { length?: number };
    const buffer = cloneValue(view.buffer, memory) as ArrayBuffer;
    const Ctor = view.constructor as new (buffer: ArrayBuffer, offset: number, length?: number) => object;
    const copy =
      view instanceof DataView
        ? new DataView(buffer, view.byteOffset, view.byteLength)
        : new Ctor(buffer, view.byteOffset, view.length);
    return remember(memory, value, copy);
  }
  if (has(BRANDS.map, value)) {
    const copy = remember(memory, value, new Map());
    for (const [k, v] of [...(value as Map<unknown, unknown>)])
      copy.set(cloneValue(k, memory), cloneValue(v, memory));
    return copy;
  }
  if (has(BRANDS.set, value)) {
    const copy = remember(memory, value, new Set());
    for (const v of [...(value as Set<unknown>)]) copy.add(cloneValue(v, memory));
    return copy;
  }
  if (value instanceof DOMException)
    return remember(memory, value, new DOMException(value.message, value.name));
  if (value instanceof Blob) {
    const bytes = blobBytes(value);
    const copy =
      value instanceof File
        ? new File([bytes], value.name, { type: value.type, lastModified: value.lastModified })
        : new Blob([bytes], { type: value.type });
    return remember(memory, value, copy);
  }
  if (Object.prototype.toString.call(value) === '[object Error]') return cloneError(value as Error, memory);
  if (Array.isArray(value))
    return copyProperties(value, remember(memory, value, new Array(value.length)), memory);
  if (isUncloneable(value)) throw cannotClone(value);
  return copyProperties(value, remember(memory, value, {}), memory);
};

const isUncloneable = (value: object): boolean => {
  if (UNCLONEABLE.some((proto) => Object.prototype.isPrototypeOf.call(proto, value))) return true;
  const tag = Object.prototype.toString.call(value);
  return (
    tag === '[object Promise]' ||
    tag === '[object WeakMap]' ||
    tag === '[object WeakSet]' ||
    tag === '[object WeakRef]' ||
    tag === '[object FinalizationRegistry]' ||
    tag === '[object Generator]' ||
    tag === '[object AsyncGenerator]' ||
    // Streams and URL objects exist only once their library is loaded; they share these tags.
    /^\[object (?:Readable|Writable|Transform)Stream|^\[object URL/.test(tag)
  );
};

const cloneBuffer = (buffer: ArrayBuffer, memory: Memory): ArrayBuffer => {
  const resizable = buffer as ArrayBuffer & { resizable?: boolean; maxByteLength?: number };
  const copy: ArrayBuffer = resizable.resizable
    ? new (ArrayBuffer as new (length: number, options: { maxByteLength: number }) => ArrayBuffer)(
        buffer.byteLength,
        {
          maxByteLength: resizable.maxByteLength as number,
        },
      )
    : new ArrayBuffer(buffer.byteLength);
  new Uint8Array(copy).set(new Uint8Array(buffer));
  return remember(memory, buffer, copy);
};

const cloneError = (error: Error, memory: Memory): Error => {
  const name = error.name;
  const Ctor =
    typeof name === 'string' && Object.hasOwn(ERROR_TYPES, name)
      ? (ERROR_TYPES[name] as ErrorConstructor)
      : Error;
  const copy = remember(memory, error, new Ctor());
  const define = (key: string, val: unknown): void => {
    Object.defineProperty(copy, key, { value: val, writable: true, configurable: true, enumerable: false });
  };
  if (Object.hasOwn(error, 'message')) define('message', String(error.message));
  const stack = error.stack;
  if (typeof stack === 'string') define('stack', stack);
  if (Object.hasOwn(error, 'cause'))
    define('cause', cloneValue((error as { cause?: unknown }).cause, memory));
  return copy;
};

/** Own enumerable string-keyed properties, read one by one (getters run, as the standard says). */
const copyProperties = <T extends object>(from: object, to: T, memory: Memory): T => {
  for (const key of Object.keys(from)) {
    if (!Object.hasOwn(from, key)) continue;
    (to as Record<string, unknown>)[key] = cloneValue((from as Record<string, unknown>)[key], memory);
  }
  return to;
};
