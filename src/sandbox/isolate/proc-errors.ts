/**
 * The errors a proc reports when its isolate throws or goes away: which limit was hit, by which
 * call, and what the other calls in flight on the proc are told (PROCYON_PROC_LOST, retryable).
 */
import type ivm from 'isolated-vm';
import type { WireError } from '../../errors.js';

/** A limit whose breach costs the proc its isolate. */
export type LimitCode = 'PROCYON_TIMEOUT' | 'PROCYON_MEMORY_LIMIT';

/** Which call's limit cost the proc its isolate. */
export interface Loss<Call> {
  by: Call;
  code: LimitCode;
}

export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
}

/** The limit an isolated-vm error reports, if it reports one. */
export function limitIn(message: string): LimitCode | null {
  if (/memory limit/i.test(message)) return 'PROCYON_MEMORY_LIMIT';
  if (/timed out/i.test(message)) return 'PROCYON_TIMEOUT';
  return null;
}

/** What a platform fault in a call (not a limit) is reported as. */
export function internalError(err: unknown): WireError {
  const message = errorMessage(err);
  const stack = err instanceof Error ? err.stack : undefined;
  return stack === undefined
    ? { code: 'PROCYON_INTERNAL', message }
    : { code: 'PROCYON_INTERNAL', message, stack };
}

/**
 * The error of a call whose isolate was disposed under it: its own limit if it hit one (`own`), else
 * PROCYON_PROC_LOST, naming the limit another call hit when there was one.
 */
export function lossError(own: LimitCode | null, timeoutMs: number, lost: LimitCode | null): WireError {
  if (own === 'PROCYON_TIMEOUT')
    return { code: 'PROCYON_TIMEOUT', message: `the function did not finish within ${timeoutMs} ms` };
  if (own === 'PROCYON_MEMORY_LIMIT')
    return { code: 'PROCYON_MEMORY_LIMIT', message: 'the function exceeded its memory limit' };
  return {
    code: 'PROCYON_PROC_LOST',
    message: lost
      ? `the proc running this call was recycled because another call on it hit a limit (${lost}); retry`
      : 'the proc running this call was disposed before the call finished; retry',
  };
}

/** What loading the module failed with. */
export function loadError(err: unknown, isolate: ivm.Isolate): WireError {
  const message = errorMessage(err);
  const limit = limitIn(message);
  if (limit === 'PROCYON_MEMORY_LIMIT') return lossError(limit, 0, null);
  if (limit === 'PROCYON_TIMEOUT') return { code: limit, message: 'module evaluation timed out' };
  if (isolate.isDisposed) return { code: 'PROCYON_INTERNAL', message: `isolate disposed: ${message}` };
  const stack = err instanceof Error ? err.stack : undefined;
  return stack === undefined
    ? { code: 'PROCYON_BUILD_FAILED', message }
    : { code: 'PROCYON_BUILD_FAILED', message, stack };
}
