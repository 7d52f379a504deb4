/**
 * FormData (XHR standard): an ordered list of name/value entries, each value a string or a File.
 * There are no HTML forms in an isolate, so the constructor takes no form. Reading one from a body
 * and writing one as multipart/form-data is in multipart.ts.
 */
import { Blob, File } from './blob.js';
import { INSPECT, type Inspect } from './inspect.js';

export type FormDataEntryValue = string | File;
type Entry = [string, FormDataEntryValue];

// Taken now, so user code patching String.prototype cannot change how FormData reads names.
const toWellFormed = (String.prototype as unknown as { toWellFormed(this: string): string }).toWellFormed;

/** WebIDL USVString: lone surrogates become U+FFFD. */
const toUSVString = (value: unknown): string => {
  return toWellFormed.call(String(value));
};

const needArgs = (count: number, needed: number, method: string): void => {
  if (count < needed)
    throw new TypeError(
      `FormData.${method}: ${needed} argument${needed === 1 ? '' : 's'} required, but only ${count} present`,
    );
};

/** The XHR standard's "create an entry": a Blob value becomes a File, named by `filename` if given. */
const makeEntry = (
  name: unknown,
  value: unknown,
  filename: unknown,
  hasFilename: boolean,
  method: string,
): Entry => {
  const key = toUSVString(name);
  if (value instanceof Blob) {
    if (!(value instanceof File) || hasFilename) {
      const fileName = hasFilename ? toUSVString(filename) : value instanceof File ? value.name : 'blob';
      const options =
        value instanceof File ? { type: value.type, lastModified: value.lastModified } : { type: value.type };
      return [key, new File([value], fileName, options)];
    }
    return [key, value];
  }
  if (hasFilename) throw new TypeError(`FormData.${method}: parameter 2 is not of type 'Blob'`);
  return [key, toUSVString(value)];
};

let entriesOf: (form: FormData) => Entry[];

/** The live entry list, for serialising (multipart.ts). */
export const formDataEntries = (form: FormData): readonly Entry[] => {
  return entriesOf(form);
};

export class FormData {
  readonly #entries: Entry[] = [];

  static {
    entriesOf = (form) => form.#entries;
  }

  constructor(form?: unknown) {
    if (form !== undefined) throw new TypeError('FormData: there are no HTML forms here; construct it empty');
  }

  append(name: string, value: string | Blob, filename?: string): void {
    needArgs(arguments.length, 2, 'append');
    this.#entries.push(makeEntry(name, value, filename, arguments.length > 2, 'append'));
  }

  set(name: string, value: string | Blob, filename?: string): void {
    needArgs(arguments.length, 2, 'set');
    const entry = makeEntry(name, value, filename, arguments.length > 2, 'set');
    const first = this.#entries.findIndex(([n]) => n === entry[0]);
    if (first === -1) {
      this.#entries.push(entry);
      return;
    }
    this.#entries[first] = entry;
    for (let i = this.#entries.length - 1; i > first; i--) {
      if ((this.#entries[i] as Entry)[0] === entry[0]) this.#entries.splice(i, 1);
    }
  }

  delete(name: string): void {
    needArgs(arguments.length, 1, 'delete');
    const key = toUSVString(name);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if ((this.#entries[i] as Entry)[0] === key) this.#entries.splice(i, 1);
    }
  }

  get(name: string): FormDataEntryValue | null {
    needArgs(arguments.length, 1, 'get');
    const key = toUSVString(name);
    const entry = this.#entries.find(([n]) => n === key);
    return entry === undefined ? null : entry[1];
  }

  getAll(name: string): FormDataEntryValue[] {
    needArgs(arguments.length, 1, 'getAll');
    const key = toUSVString(name);
    return this.#entries.filter(([n]) => n === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    needArgs(arguments.length, 1, 'has');
    const key = toUSVString(name);
    return this.#entries.some(([n]) => n === key);
  }

  forEach(
    callback: (value: FormDataEntryValue, name: string, form: FormData) => void,
    thisArg?: unknown,
  ): void {
    if (typeof callback !== 'function') throw new TypeError('FormData.forEach: callback is not a function');
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }

  /** Iterates the live list by index, as WebIDL iterables do: entries added meanwhile are seen. */
  *entries(): IterableIterator<[string, FormDataEntryValue]> {
    for (let i = 0; i < this.#entries.length; i++) {
      const [name, value] = this.#entries[i] as Entry;
      yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<FormDataEntryValue> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'FormData';
  }

  [INSPECT](_depth: number, _options: unknown, inspect: Inspect): string {
    const items = this.#entries.map(([n, v]) => `${inspect(n)} => ${inspect(v)}`);
    return items.length === 0 ? 'FormData {}' : `FormData { ${items.join(', ')} }`;
  }
}
