// Waiting in tests: poll a condition until it holds or a deadline passes, never sleep-then-assert.
// A busy machine (CI, two cores shared with other work) makes fixed sleeps flaky; a deadline only
// bounds how long a test may take to fail.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** @default 10_000 (ms) how long to keep polling before failing */
  timeoutMs?: number;
  /** @default 25 (ms) pause between polls */
  intervalMs?: number;
  /** what was awaited, for the failure message */
  what?: string;
}

/**
 * Polls `check` until it returns a truthy value, and returns that value. Throws with `what` in the
 * message once the deadline passes.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await sleep(opts.intervalMs ?? 25);
  }
}
