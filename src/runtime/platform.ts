/**
 * What an isolate may know of its platform: `navigator.userAgent` ("Procyon"), and
 * `performance.now()` / `performance.timeOrigin` (High Resolution Time) from Date.now(): an
 * isolate has no finer clock that code inside it may read. The time origin is taken on first use
 * in each isolate (never at snapshot time), and now() never goes backwards even if the wall clock
 * does. Millisecond resolution, which also keeps timing side channels coarse. Loaded on first use
 * (lazy.ts), so its helpers are const arrow functions.
 */
/** Per isolate, set on first use. */
const clock = { origin: -1, latest: 0 };

const origin = (): number => {
  if (clock.origin < 0) clock.origin = Date.now();
  return clock.origin;
};

/** Milliseconds since the time origin; monotonic within the isolate. */
export const monotonicNow = (): number => {
  const elapsed = Date.now() - origin();
  if (elapsed > clock.latest) clock.latest = elapsed;
  return clock.latest;
};

export class Performance {
  get timeOrigin(): number {
    return origin();
  }

  now(): number {
    return monotonicNow();
  }

  toJSON(): { timeOrigin: number } {
    return { timeOrigin: origin() };
  }

  get [Symbol.toStringTag](): string {
    return 'Performance';
  }
}

export class Navigator {
  get userAgent(): string {
    return 'Procyon';
  }

  get [Symbol.toStringTag](): string {
    return 'Navigator';
  }
}

export const performance = new Performance();
export const navigator = new Navigator();
