/**
 * Headers (WHATWG Fetch). Names are case-insensitive and iterate sorted in lowercase; values of
 * the same name are combined with ", " except Set-Cookie, which iterates one entry per cookie
 * (and `getSetCookie()` returns them), since cookies cannot be joined safely.
 */
import { INSPECT, type Inspect } from './inspect.js';

export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

/** Mutable, or frozen (Response.error() and Response.redirect() headers). */
type Guard = 'none' | 'immutable';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** WebIDL ByteString: every code unit must fit in a byte. */
export function toByteString(value: unknown, what: string): string {
  const s = String(value);
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) {
      throw new TypeError(`${what}: character at index ${i} of "${s}" is outside the Latin1 range`);
    }
  }
  return s;
}

function headerName(name: unknown): string {
  const s = toByteString(name, 'Headers');
  if (!TOKEN.test(s)) throw new TypeError(`Headers: "${s}" is not a valid header name`);
  return s.toLowerCase();
}

function headerValue(name: string, value: unknown): string {
  const s = toByteString(value, 'Headers').replace(EDGE_WHITESPACE, '');
  if (/[\0\r\n]/.test(s))
    throw new TypeError(`Headers: the value of "${name}" contains a NUL, CR or LF character`);
  return s;
}

let setGuard: (headers: Headers, guard: Guard) => void;
let sortedEntries: (headers: Headers) => [string, string][];

/** The iteration view (sorted, combined, one entry per Set-Cookie), immune to prototype patches. */
export function headerEntries(headers: Headers): [string, string][] {
  return sortedEntries(headers).map(([n, v]) => [n, v]);
}

/** Freezes a Headers object: every later mutation throws a TypeError. */
export function freezeHeaders(headers: Headers): Headers {
  setGuard(headers, 'immutable');
  return headers;
}

export class Headers {
  /** [lowercase name, value] in insertion order. */
  #list: [string, string][] = [];
  #guard: Guard = 'none';
  /** The sort-and-combine view, rebuilt after a mutation. */
  #sorted: [string, string][] | null = null;

  static {
    setGuard = (headers, guard) => {
      headers.#guard = guard;
    };
    sortedEntries = (headers) => headers.#entries();
  }

  constructor(init?: HeadersInit) {
    if (init === undefined) return;
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
      throw new TypeError(
        'Headers: init must be a Headers object, an array of [name, value] pairs or a record',
      );
    }
    if (init instanceof Headers) {
      this.#list = init.#list.map(([n, v]) => [n, v]);
      return;
    }
    const iterator = (init as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (iterator !== undefined && iterator !== null) {
      if (typeof iterator !== 'function')
        throw new TypeError('Headers: init[Symbol.iterator] is not a function');
      for (const pair of init as Iterable<unknown>) {
        if (pair === null || typeof pair !== 'object')
          throw new TypeError('Headers: each header must be a [name, value] pair');
        const items = [...(pair as Iterable<unknown>)];
        if (items.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair');
        this.append(items[0] as string, items[1] as string);
      }
      return;
    }
    for (const key of Object.keys(init)) this.append(key, (init as Record<string, string>)[key] as string);
  }

  #mutable(): void {
    if (this.#guard === 'immutable') throw new TypeError('Headers: these headers are immutable');
    this.#sorted = null;
  }

  append(name: string, value: string): void {
    const n = headerName(name);
    const v = headerValue(n, value);
    this.#mutable();
    this.#list.push([n, v]);
  }

  // Names the callbacks below capture are longer than one character: Headers runs while the
  // snapshot is made (warm.ts), and the snapshot rule (index.ts) applies.
  delete(name: string): void {
    const key = headerName(name);
    this.#mutable();
    this.#list = this.#list.filter(([k]) => k !== key);
  }

  get(name: string): string | null {
    const key = headerName(name);
    const values = this.#list.filter(([k]) => k === key).map(([, v]) => v);
    return values.length === 0 ? null : values.join(', ');
  }

  getSetCookie(): string[] {
    return this.#list.filter(([k]) => k === 'set-cookie').map(([, v]) => v);
  }

  has(name: string): boolean {
    const key = headerName(name);
    return this.#list.some(([k]) => k === key);
  }

  /** Replaces the first entry of the name in place and drops the others. */
  set(name: string, value: string): void {
    const key = headerName(name);
    const v = headerValue(key, value);
    this.#mutable();
    const first = this.#list.findIndex(([k]) => k === key);
    if (first < 0) {
      this.#list.push([key, v]);
      return;
    }
    this.#list[first] = [key, v];
    this.#list = this.#list.filter(([k], j) => j <= first || k !== key);
  }

  #entries(): [string, string][] {
    if (this.#sorted !== null) return this.#sorted;
    const names = [...new Set(this.#list.map(([k]) => k))].sort();
    const out: [string, string][] = [];
    for (const name of names) {
      if (name === 'set-cookie') {
        for (const v of this.getSetCookie()) out.push([name, v]);
      } else out.push([name, this.get(name) as string]);
    }
    this.#sorted = out;
    return out;
  }

  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    if (typeof callback !== 'function') throw new TypeError('Headers.forEach: callback is not a function');
    // By index over the live view, as the spec does: the callback may change the headers.
    for (let i = 0; i < this.#entries().length; i++) {
      const [name, value] = this.#entries()[i] as [string, string];
      callback.call(thisArg, value, name, this);
    }
  }

  entries(): IterableIterator<[string, string]> {
    return this.#iterate((e) => [e[0], e[1]]);
  }

  keys(): IterableIterator<string> {
    return this.#iterate((e) => e[0]);
  }

  values(): IterableIterator<string> {
    return this.#iterate((e) => e[1]);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  #iterate<T>(pick: (entry: [string, string]) => T): IterableIterator<T> {
    let index = 0;
    const next = (): IteratorResult<T> => {
      const list = this.#entries();
      if (index >= list.length) return { done: true, value: undefined };
      return { done: false, value: pick(list[index++] as [string, string]) };
    };
    return Object.create(HeadersIteratorPrototype, {
      next: { value: next, configurable: true, writable: true },
    }) as IterableIterator<T>;
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const list = this.#entries();
    if (list.length === 0) return 'Headers {}';
    return `Headers { ${list.map(([k, v]) => `${inspect(k)}: ${inspect(v)}`).join(', ')} }`;
  }
}

const HeadersIteratorPrototype = Object.create(
  Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object,
  {
    [Symbol.toStringTag]: { value: 'Headers Iterator', configurable: true },
  },
) as object;
