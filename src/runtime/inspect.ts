/**
 * A small, safe `util.inspect` for console output: what a user's `console.log(obj)` looks like in
 * their activation logs. Close to Node's output for the common cases (objects, arrays, Map/Set,
 * typed arrays, errors as their stack, `<ref *1>` / `[Circular *1]` for cycles, `[Object]` past the
 * depth limit), never runs getters, and never throws: whatever goes wrong prints as a placeholder.
 */

import { trimStack } from './stack.js';

/** Node's `util.inspect.custom`, so objects (ours and users') can choose how they print. */
export const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

export type Inspect = (value: unknown) => string;

export interface InspectOptions {
  /** Nesting shown before `[Object]`. @default 2 */
  depth?: number;
}

/** Array items shown before "... n more items". */
const MAX_ITEMS = 100;
/** Characters of a nested string shown before "... n more characters". */
const MAX_STRING = 10_000;
/** Longest single-line rendering of an object before it is broken over lines. (chars) */
const BREAK_LENGTH = 80;

interface Ctx {
  depth: number;
  /** Objects being printed, outermost first: a hit is a cycle. */
  seen: object[];
  /** Cycle targets and their `*n` index. */
  circular: Map<object, number>;
  indent: number;
}

export function inspect(value: unknown, options: InspectOptions = {}): string {
  const ctx: Ctx = { depth: options.depth ?? 2, seen: [], circular: new Map(), indent: 0 };
  try {
    return formatValue(ctx, value, 0, false);
  } catch {
    return '[object: inspection failed]';
  }
}

function formatValue(ctx: Ctx, value: unknown, level: number, nested: boolean): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return (
        quote(nested && value.length > MAX_STRING ? value.slice(0, MAX_STRING) : value) +
        moreChars(value, nested)
      );
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return value.toString();
    default:
      return formatObject(ctx, value, level);
  }
}

function moreChars(s: string, nested: boolean): string {
  return nested && s.length > MAX_STRING ? `... ${s.length - MAX_STRING} more characters` : '';
}

function quote(s: string): string {
  const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes('`') ? '`' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0').toUpperCase()}`;
    else out += ch;
  }
  return q + out + q;
}

function formatObject(ctx: Ctx, obj: object, level: number): string {
  if (ctx.seen.includes(obj)) {
    let index = ctx.circular.get(obj);
    if (index === undefined) {
      index = ctx.circular.size + 1;
      ctx.circular.set(obj, index);
    }
    return `[Circular *${index}]`;
  }
  const custom = (obj as Record<PropertyKey, unknown>)[INSPECT];
  if (typeof custom === 'function') {
    const inner: Inspect = (v) => formatValue({ ...ctx, seen: [...ctx.seen, obj] }, v, level + 1, true);
    const out: unknown = custom.call(obj, ctx.depth - level, { depth: ctx.depth - level }, inner);
    if (out !== obj) return typeof out === 'string' ? out : formatValue(ctx, out, level, true);
  }
  if (typeof obj === 'function') return formatFunction(ctx, obj as (...args: unknown[]) => unknown, level);
  if (obj instanceof Error) return formatError(ctx, obj, level);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof RegExp) return String(obj);
  if (obj instanceof Promise) return 'Promise { <unknown> }';
  if (obj instanceof WeakMap || obj instanceof WeakSet) return `${obj.constructor.name} { <items unknown> }`;
  const boxed = boxedPrimitive(obj);
  if (boxed !== undefined) return boxed;

  ctx.seen.push(obj);
  try {
    const out = formatContainer(ctx, obj, level);
    const index = ctx.circular.get(obj);
    return index === undefined ? out : `<ref *${index}> ${out}`;
  } finally {
    ctx.seen.pop();
  }
}

function formatContainer(ctx: Ctx, obj: object, level: number): string {
  const prefix = constructorPrefix(obj);
  const isArray = Array.isArray(obj);
  if (level > ctx.depth) {
    return isArray ? '[Array]' : `[${prefix.trim() || 'Object'}]`;
  }
  let entries: string[];
  let braces: [string, string];
  let keys = ownKeys(obj);
  ctx.indent += 2;
  try {
    if (isArray) {
      braces = [`${prefix === 'Array ' ? '' : prefix}[`, ']'];
      entries = formatList(ctx, obj as unknown[], level);
      keys = keys.filter((k) => typeof k !== 'string' || !isIndex(k, (obj as unknown[]).length));
    } else if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
      const list = obj as unknown as ArrayLike<unknown>;
      braces = [`${obj.constructor.name}(${list.length}) [`, ']'];
      entries = formatList(ctx, list, level);
      keys = [];
    } else if (obj instanceof ArrayBuffer) {
      const bytes = [...new Uint8Array(obj, 0, Math.min(obj.byteLength, 50))].map((b) =>
        b.toString(16).padStart(2, '0'),
      );
      const more = obj.byteLength > 50 ? ` ... ${obj.byteLength - 50} more bytes` : '';
      entries = [`[Uint8Contents]: <${bytes.join(' ')}${more}>`, `byteLength: ${obj.byteLength}`];
      braces = ['ArrayBuffer {', '}'];
    } else if (obj instanceof Map) {
      braces = [`${prefix.replace(/ $/, '')}(${obj.size}) {`, '}'];
      entries = [...obj].map(
        ([k, v]) => `${formatValue(ctx, k, level + 1, true)} => ${formatValue(ctx, v, level + 1, true)}`,
      );
    } else if (obj instanceof Set) {
      braces = [`${prefix.replace(/ $/, '')}(${obj.size}) {`, '}'];
      entries = [...obj].map((v) => formatValue(ctx, v, level + 1, true));
    } else {
      braces = [`${prefix === 'Object ' ? '' : prefix}{`, '}'];
      entries = [];
    }
    for (const key of keys) entries.push(formatProperty(ctx, obj, key, level));
  } finally {
    ctx.indent -= 2;
  }
  return join(ctx, entries, braces);
}

function formatList(ctx: Ctx, list: ArrayLike<unknown>, level: number): string[] {
  const out: string[] = [];
  const shown = Math.min(list.length, MAX_ITEMS);
  let holes = 0;
  for (let i = 0; i < shown; i++) {
    if (!Object.prototype.hasOwnProperty.call(list, i)) {
      holes++;
      continue;
    }
    if (holes > 0) out.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    holes = 0;
    out.push(formatValue(ctx, list[i], level + 1, true));
  }
  if (holes > 0) out.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
  if (list.length > shown)
    out.push(`... ${list.length - shown} more item${list.length - shown > 1 ? 's' : ''}`);
  return out;
}

function formatProperty(ctx: Ctx, obj: object, key: string | symbol, level: number): string {
  const desc = Object.getOwnPropertyDescriptor(obj, key);
  const name =
    typeof key === 'symbol' ? `[${key.toString()}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key);
  if (desc === undefined) return `${name}: undefined`;
  if (desc.get !== undefined || desc.set !== undefined) {
    return `${name}: ${desc.get && desc.set ? '[Getter/Setter]' : desc.get ? '[Getter]' : '[Setter]'}`;
  }
  return `${name}: ${formatValue(ctx, desc.value, level + 1, true)}`;
}

/** One line if it fits and no entry spans lines, else one entry per line. */
function join(ctx: Ctx, entries: string[], [open, close]: [string, string]): string {
  if (entries.length === 0) {
    return close === ']' ? `${open}]` : open === '{' ? '{}' : `${open}}`;
  }
  const oneLine = `${open} ${entries.join(', ')} ${close}`;
  if (oneLine.length + ctx.indent <= BREAK_LENGTH && !oneLine.includes('\n')) return oneLine;
  const pad = ' '.repeat(ctx.indent + 2);
  return `${open}\n${pad}${entries.join(`,\n${pad}`)}\n${' '.repeat(ctx.indent)}${close}`;
}

function ownKeys(obj: object): (string | symbol)[] {
  const keys: (string | symbol)[] = Object.keys(obj);
  for (const s of Object.getOwnPropertySymbols(obj)) {
    if (Object.prototype.propertyIsEnumerable.call(obj, s)) keys.push(s);
  }
  return keys;
}

function isIndex(key: string, length: number): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < length && String(n) === key;
}

/** "Foo " for class instances, "[Object: null prototype] " for bare objects, "Object " otherwise. */
function constructorPrefix(obj: object): string {
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto === null) return '[Object: null prototype] ';
  const desc = Object.getOwnPropertyDescriptor(proto, 'constructor');
  const name = desc && typeof desc.value === 'function' ? (desc.value as { name?: unknown }).name : undefined;
  const tag = (obj as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  const base = typeof name === 'string' && name !== '' ? name : 'Object';
  return typeof tag === 'string' && tag !== '' && tag !== base ? `${base} [${tag}] ` : `${base} `;
}

function formatFunction(ctx: Ctx, fn: (...args: unknown[]) => unknown, level: number): string {
  let source = '';
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    // Proxies of functions refuse toString; they print as plain functions.
  }
  const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : '';
  const base = source.startsWith('class')
    ? `[class ${name || '(anonymous)'}]`
    : `[Function: ${name || '(anonymous)'}]`;
  const keys = ownKeys(fn);
  if (keys.length === 0) return base;
  ctx.seen.push(fn);
  ctx.indent += 2;
  try {
    return join(
      ctx,
      keys.map((k) => formatProperty(ctx, fn, k, level)),
      [`${base} {`, '}'],
    );
  } finally {
    ctx.indent -= 2;
    ctx.seen.pop();
  }
}

function formatError(ctx: Ctx, err: Error, level: number): string {
  const stack = safeProp(err, 'stack');
  let out = typeof stack === 'string' && stack !== '' ? trimStack(stack) : errorSummary(err);
  const keys = ownKeys(err).filter((k) => k !== 'stack' && k !== 'message');
  const cause = Object.prototype.hasOwnProperty.call(err, 'cause') ? safeProp(err, 'cause') : undefined;
  if (keys.length === 0 && cause === undefined) return out;
  if (level > ctx.depth) return `[${errorSummary(err)}]`;
  ctx.seen.push(err);
  ctx.indent += 2;
  try {
    const entries = keys.map((k) => formatProperty(ctx, err, k, level));
    if (cause !== undefined && !keys.includes('cause'))
      entries.push(`[cause]: ${formatValue(ctx, cause, level + 1, true)}`);
    out += ` ${join(ctx, entries, ['{', '}'])}`;
  } finally {
    ctx.indent -= 2;
    ctx.seen.pop();
  }
  return out;
}

/** `Name: message`, read defensively (getters may throw, values may not be strings). */
export function errorSummary(err: object): string {
  const name = safeProp(err, 'name');
  const message = safeProp(err, 'message');
  const n = typeof name === 'string' && name !== '' ? name : 'Error';
  return typeof message === 'string' && message !== '' ? `${n}: ${message}` : n;
}

function safeProp(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function boxedPrimitive(obj: object): string | undefined {
  if (obj instanceof String) return `[String: ${quote(obj.valueOf())}]`;
  if (obj instanceof Number) return `[Number: ${String(obj.valueOf())}]`;
  if (obj instanceof Boolean) return `[Boolean: ${String(obj.valueOf())}]`;
  return undefined;
}
