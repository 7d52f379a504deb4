/**
 * How a failed call is reported to the host: a WireError with a platform error code. User code
 * that throws becomes PROCYON_FUNCTION_ERROR with `Name: message` and the stack; anything thrown
 * (strings, plain objects, Proxies) is described without ever throwing again.
 */
import type { ErrorCode } from '../errors.js';
import type { DispatchResult } from './contract.js';
import { errorSummary, inspect } from './inspect.js';
import { trimStack } from './stack.js';

export type Failure = Extract<DispatchResult, { ok: false }>;

export function failure(code: ErrorCode, message: string): Failure {
  return { ok: false, error: { code, message } };
}

/** What user code threw, as PROCYON_FUNCTION_ERROR. */
export function functionError(thrown: unknown): Failure {
  if (thrown instanceof Error) {
    let stack: unknown;
    try {
      stack = thrown.stack;
    } catch {
      stack = undefined;
    }
    const message = errorSummary(thrown);
    const error: Failure['error'] = { code: 'PROCYON_FUNCTION_ERROR', message };
    if (typeof stack === 'string' && stack !== '') error.stack = trimStack(stack);
    return { ok: false, error };
  }
  return failure('PROCYON_FUNCTION_ERROR', `Uncaught ${inspect(thrown, { depth: 1 })}`);
}

/** A short description of a value for messages: "undefined", "a string", "an object (Foo)". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return `the boolean ${String(value)}`;
    case 'bigint':
      return 'a bigint';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default: {
      if (Array.isArray(value)) return 'an array';
      let name: unknown;
      try {
        name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
          ?.name;
      } catch {
        name = undefined;
      }
      return typeof name === 'string' && name !== '' && name !== 'Object'
        ? `an object (${name})`
        : 'an object';
    }
  }
}

/** A message from something our own code caught, for PROCYON_INTERNAL. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? errorSummary(err) : inspect(err, { depth: 1 });
}
