/**
 * The `console` global: each call becomes one line in the activation's logs (through the LogSink),
 * formatted like Node's console. It replaces V8's built-in console, which prints nowhere in an
 * isolate. Stateful methods (count, time, group) are left for the full web runtime.
 */
import type { LogLevel } from './contract.js';
import { format } from './format.js';
import { inspect } from './inspect.js';
import type { LogSink } from './logs.js';
import { trimStack } from './stack.js';

export interface Console {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  trace(...args: unknown[]): void;
  assert(condition?: unknown, ...args: unknown[]): void;
  dir(value?: unknown, options?: { depth?: number | null }): void;
}

export function createConsole(sink: LogSink): Console {
  const writer =
    (level: LogLevel) =>
    (...args: unknown[]): void =>
      sink.write(level, format(args));
  const console: Console = {
    log: writer('log'),
    info: writer('info'),
    warn: writer('warn'),
    error: writer('error'),
    debug: writer('debug'),
    trace(...args: unknown[]): void {
      const raw: unknown = new Error().stack;
      const stack = typeof raw === 'string' ? trimStack(raw).split('\n').slice(1).join('\n') : '';
      sink.write('debug', `Trace${args.length > 0 ? `: ${format(args)}` : ''}${stack ? `\n${stack}` : ''}`);
    },
    assert(condition?: unknown, ...args: unknown[]): void {
      if (condition) return;
      sink.write('error', args.length > 0 ? `Assertion failed: ${format(args)}` : 'Assertion failed');
    },
    dir(value?: unknown, options?: { depth?: number | null }): void {
      const depth = options?.depth === null ? Infinity : (options?.depth ?? 2);
      sink.write('log', inspect(value, { depth }));
    },
  };
  Object.defineProperty(console, Symbol.toStringTag, { value: 'console', configurable: true });
  return console;
}
