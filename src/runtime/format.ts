/**
 * `util.format`, lite: turns console arguments into one log line. A leading string may carry
 * printf-style placeholders (%s %d %i %f %j %o %O %c %%); other arguments follow, separated by
 * spaces, strings as they are and everything else through `inspect`. Never throws.
 */
import { inspect } from './inspect.js';

export function format(args: readonly unknown[]): string {
  try {
    return formatUnsafe(args);
  } catch {
    return '[console: arguments could not be formatted]';
  }
}

function formatUnsafe(args: readonly unknown[]): string {
  if (args.length === 0) return '';
  const first = args[0];
  let out = '';
  let next = 1;
  if (typeof first === 'string') {
    if (args.length === 1) return first;
    let last = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first.charCodeAt(i) !== 37 /* % */) continue;
      const spec = first[i + 1] as string;
      if (spec === '%') {
        out += first.slice(last, i) + '%';
        last = i + 2;
        i++;
        continue;
      }
      if (!'sdifjoOc'.includes(spec)) continue;
      if (next >= args.length) continue;
      out += first.slice(last, i) + placeholder(spec, args[next++]);
      last = i + 2;
      i++;
    }
    out += first.slice(last);
  } else {
    out = inspect(first);
  }
  for (; next < args.length; next++) {
    const arg = args[next];
    out += ' ' + (typeof arg === 'string' ? arg : inspect(arg));
  }
  return out;
}

function placeholder(spec: string, arg: unknown): string {
  switch (spec) {
    case 's':
      if (typeof arg === 'bigint') return `${arg}n`;
      if (typeof arg === 'symbol') return arg.toString();
      if (typeof arg === 'number') return Object.is(arg, -0) ? '-0' : String(arg);
      if (typeof arg === 'object' && arg !== null)
        return hasOwnToString(arg) ? String(arg) : inspect(arg, { depth: 0 });
      return String(arg);
    case 'd':
      if (typeof arg === 'bigint') return `${arg}n`;
      if (typeof arg === 'symbol' || (typeof arg === 'object' && arg !== null)) return 'NaN';
      return String(Number(arg));
    case 'i':
      if (typeof arg === 'bigint') return `${arg}n`;
      if (typeof arg === 'symbol') return 'NaN';
      return String(parseInt(String(arg), 10));
    case 'f':
      if (typeof arg === 'symbol') return 'NaN';
      return String(parseFloat(String(arg)));
    case 'j':
      return json(arg);
    case 'o':
      return inspect(arg, { depth: 4 });
    case 'O':
      return inspect(arg);
    default: // %c: CSS for browser consoles; consumed and dropped
      return '';
  }
}

function json(arg: unknown): string {
  try {
    const s = JSON.stringify(arg);
    return s === undefined ? 'undefined' : s;
  } catch (err) {
    if (err instanceof TypeError && /circular/i.test(err.message)) return '[Circular]';
    throw err;
  }
}

const BUILTIN_PROTOTYPES = new Set<object>([
  Object.prototype,
  Array.prototype,
  Date.prototype,
  RegExp.prototype,
  Error.prototype,
  Function.prototype,
]);

/** Objects with their own (non-builtin) toString print through it under %s, like Node. */
function hasOwnToString(obj: object): boolean {
  for (let p: object | null = obj; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, 'toString')) return !BUILTIN_PROTOTYPES.has(p);
  }
  return false;
}
