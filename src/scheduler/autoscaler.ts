/**
 * How many procs a version should have: Knative's KPA policy (docs/scheduler.md), as a pure state
 * machine. The scheduler measures in-flight calls with a ConcurrencyMeter, hands the average to
 * `record` once per tick and asks `decide`; time is always passed in, so the policy runs the same
 * under a test's explicit clock as under the node's.
 *
 * - Two windows over the recorded samples: a long stable one (60 s) that decides steady state and
 *   scale-down, and a short panic one (6 s) that notices bursts.
 * - Panic when the panic window alone asks for `panicThreshold` times the ready procs: scale to
 *   it at once and never down while panicking, so a burst does not make procs come and go. Panic
 *   ends when no decision in a whole stable window would have started it.
 * - Each decision moves at most by the rates (up to ×1000, down to ÷2) from the ready count.
 * - No demand in the whole stable window: 0. Keep-alive and minInstances are the caller's.
 */

/** Reads as demand only above this; the meter's float sums leave crumbs near zero. */
const EPSILON = 1e-9;

export interface AutoscalerOptions {
  /** Target in-flight calls per proc (the function's concurrency × target utilisation). */
  target: number;
  /** Window over which average concurrency decides scale-down and steady state. (ms) @default 60_000 */
  stableWindowMs?: number;
  /** Shorter window that detects bursts. (ms) @default 6_000 (10% of the stable window, as Knative) */
  panicWindowMs?: number;
  /** Enter panic when panic-window demand needs this many times the ready procs. @default 2 */
  panicThreshold?: number;
  /** Most growth per decision, as a multiple of ready procs. @default 1000 */
  maxScaleUpRate?: number;
  /** Most shrinkage per decision, as a divisor of ready procs. @default 2 */
  maxScaleDownRate?: number;
}

export interface Decision {
  desired: number;
  panic: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
}

export const AUTOSCALER_DEFAULTS = {
  stableWindowMs: 60_000,
  /** Share of the stable window the panic window defaults to. */
  panicWindowShare: 0.1,
  panicThreshold: 2,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
} as const;

type Settings = Required<AutoscalerOptions>;

export class Autoscaler {
  readonly #settings: Settings;
  /** Sample times (ms), oldest first, from `#head` on; entries before it are stale. */
  readonly #times: number[] = [];
  readonly #values: number[] = [];
  #head = 0;
  #panicking = false;
  /** Last decision at which the panic condition held. */
  #panicAt = -Infinity;
  #lastDesired = 0;

  constructor(options: AutoscalerOptions) {
    this.#settings = settings(options);
  }

  /** Records the average in-flight concurrency over the interval ending at `now` (ms). Called once per tick. */
  record(now: number, concurrency: number): void {
    if (!Number.isFinite(concurrency) || concurrency < 0) {
      throw new RangeError(`concurrency must be a finite number >= 0, got ${String(concurrency)}`);
    }
    // Date.now() can step back (clock adjustments); samples stay in order so pruning stays a prefix cut.
    const last = this.#times[this.#times.length - 1];
    this.#times.push(last === undefined ? now : Math.max(now, last));
    this.#values.push(concurrency);
    this.#prune(now);
  }

  /** How many procs the version should have, given `ready` procs now. */
  decide(now: number, ready: number): Decision {
    if (!Number.isInteger(ready) || ready < 0) {
      throw new RangeError(`ready must be an integer >= 0, got ${String(ready)}`);
    }
    this.#prune(now);
    const { target, panicWindowMs, stableWindowMs, panicThreshold } = this.#settings;
    const stableConcurrency = this.#average(now, stableWindowMs);
    const panicConcurrency = this.#average(now, panicWindowMs);
    if (this.idle(now)) {
      // Nothing to panic about either: the next burst starts from a clean slate.
      this.#panicking = false;
      this.#lastDesired = 0;
      return { desired: 0, panic: false, stableConcurrency, panicConcurrency };
    }
    const [low, high] = this.#bounds(ready);
    const clamp = (count: number): number => Math.min(high, Math.max(low, count));
    const desiredStable = clamp(procsFor(stableConcurrency, target));
    const burst = procsFor(panicConcurrency, target);
    const desiredPanic = clamp(burst);
    // panicThreshold > 1, so this holds only when there is demand, even with no ready procs.
    if (burst / Math.max(ready, 1) >= panicThreshold) {
      this.#panicking = true;
      this.#panicAt = now;
    } else if (this.#panicking && now - this.#panicAt >= stableWindowMs) {
      this.#panicking = false;
    }
    // While panicking the count only grows: the burst may come back before the window says so.
    // The stable count joins in (as in Knative): a falling burst can leave the long window higher.
    const desired = this.#panicking
      ? Math.max(desiredPanic, desiredStable, this.#lastDesired)
      : desiredStable;
    this.#lastDesired = desired;
    return { desired, panic: this.#panicking, stableConcurrency, panicConcurrency };
  }

  /** No samples in the stable window (nothing to scale for). Samples of zero demand do not count. */
  idle(now: number): boolean {
    const from = now - this.#settings.stableWindowMs;
    for (let index = this.#times.length - 1; index >= this.#head; index--) {
      if ((this.#times[index] ?? -Infinity) <= from) break;
      if ((this.#values[index] ?? 0) > EPSILON) return false;
    }
    return true;
  }

  /** [least, most] procs one decision may ask for, from Knative's rates. */
  #bounds(ready: number): [number, number] {
    const { maxScaleUpRate, maxScaleDownRate } = this.#settings;
    return [Math.floor(ready / maxScaleDownRate), Math.ceil(maxScaleUpRate * Math.max(ready, 1))];
  }

  /** Mean of the samples in (now - windowMs, now]; 0 with none. */
  #average(now: number, windowMs: number): number {
    const from = now - windowMs;
    let sum = 0;
    let count = 0;
    for (let index = this.#times.length - 1; index >= this.#head; index--) {
      if ((this.#times[index] ?? -Infinity) <= from) break;
      sum += this.#values[index] ?? 0;
      count++;
    }
    return count === 0 ? 0 : sum / count;
  }

  /** Drops samples older than the stable window, so memory is bounded by one window of ticks. */
  #prune(now: number): void {
    const from = now - this.#settings.stableWindowMs;
    while (this.#head < this.#times.length && (this.#times[this.#head] ?? Infinity) <= from) this.#head++;
    // Compact only once the dead prefix is half the arrays: amortised O(1) per sample.
    if (this.#head > 0 && this.#head * 2 >= this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#values.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** Procs needed for `concurrency` at `target` each, forgiving float noise (2.1 / 0.7 is 3.0000000000000004). */
function procsFor(concurrency: number, target: number): number {
  if (concurrency <= EPSILON) return 0;
  return Math.ceil(concurrency / target - EPSILON);
}

function settings(options: AutoscalerOptions): Settings {
  const stableWindowMs = options.stableWindowMs ?? AUTOSCALER_DEFAULTS.stableWindowMs;
  const out: Settings = {
    target: options.target,
    stableWindowMs,
    panicWindowMs: options.panicWindowMs ?? stableWindowMs * AUTOSCALER_DEFAULTS.panicWindowShare,
    panicThreshold: options.panicThreshold ?? AUTOSCALER_DEFAULTS.panicThreshold,
    maxScaleUpRate: options.maxScaleUpRate ?? AUTOSCALER_DEFAULTS.maxScaleUpRate,
    maxScaleDownRate: options.maxScaleDownRate ?? AUTOSCALER_DEFAULTS.maxScaleDownRate,
  };
  positive('target', out.target);
  positive('stableWindowMs', out.stableWindowMs);
  positive('panicWindowMs', out.panicWindowMs);
  if (out.panicWindowMs > out.stableWindowMs) {
    throw new RangeError(
      `panicWindowMs (${out.panicWindowMs}) must not be longer than stableWindowMs (${out.stableWindowMs})`,
    );
  }
  // At 1 or below these would mean panicking at steady state, never growing, or never shrinking.
  aboveOne('panicThreshold', out.panicThreshold);
  aboveOne('maxScaleUpRate', out.maxScaleUpRate);
  aboveOne('maxScaleDownRate', out.maxScaleDownRate);
  return out;
}

function positive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
}

function aboveOne(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 1) {
    throw new RangeError(`${name} must be a finite number > 1, got ${String(value)}`);
  }
}

/** Time-weighted average of an in-flight counter between ticks: feed it every change. */
export class ConcurrencyMeter {
  #value = 0;
  /** When `#value` took effect, or the interval began if later. */
  #since: number;
  #start: number;
  /** Integral of the count over time since `#start`. (calls × ms) */
  #area = 0;

  constructor(now: number) {
    this.#since = now;
    this.#start = now;
  }

  /** The in-flight count changed to `value` at `now`. */
  set(now: number, value: number): void {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`in-flight count must be a finite number >= 0, got ${String(value)}`);
    }
    this.#advance(now);
    this.#value = value;
  }

  /** Average since the last take (or construction), and start a new interval. */
  take(now: number): number {
    this.#advance(now);
    const span = this.#since - this.#start;
    // An empty interval has no history to average: what is in flight now is the best answer.
    const average = span > 0 ? this.#area / span : this.#value;
    this.#start = this.#since;
    this.#area = 0;
    return average;
  }

  #advance(now: number): void {
    // A clock that steps back adds no time rather than negative time.
    if (now <= this.#since) return;
    this.#area += this.#value * (now - this.#since);
    this.#since = now;
  }
}
