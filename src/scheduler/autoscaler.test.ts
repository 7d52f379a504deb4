import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Autoscaler, ConcurrencyMeter, type AutoscalerOptions, type Decision } from './autoscaler.js';

const SECOND = 1000;

/** Records `value` once a second for every tick in (from, to] (seconds). */
function feed(scaler: Autoscaler, from: number, to: number, value: number): void {
  for (let second = from + 1; second <= to; second++) scaler.record(second * SECOND, value);
}

/**
 * A tick loop as the scheduler runs it, with procs that start at once: each second records
 * `demand(second)`, decides with the ready count the previous decision produced.
 */
function run(
  scaler: Autoscaler,
  from: number,
  to: number,
  demand: (second: number) => number,
  ready: number,
): { ready: number; trace: Map<number, Decision> } {
  const trace = new Map<number, Decision>();
  for (let second = from + 1; second <= to; second++) {
    scaler.record(second * SECOND, demand(second));
    const decision = scaler.decide(second * SECOND, ready);
    trace.set(second, decision);
    ready = decision.desired;
  }
  return { ready, trace };
}

/** What a decision on one sample of `concurrency` says: both windows hold just that sample. */
function single(desired: number, panic: boolean, concurrency: number): Decision {
  return { desired, panic, stableConcurrency: concurrency, panicConcurrency: concurrency };
}

function at(trace: Map<number, Decision>, second: number): Decision {
  const decision = trace.get(second);
  assert.ok(decision, `no decision at ${second}s`);
  return decision;
}

describe('Autoscaler', () => {
  it('asks for ceil(demand / target) procs under steady demand', () => {
    const cases: [target: number, demand: number, expected: number][] = [
      [1, 3, 3],
      [10, 25, 3],
      [10, 30, 3],
      // 2.1 / 0.7 is 3.0000000000000004 in floating point: still 3 procs, not 4.
      [0.7, 2.1, 3],
      [0.7, 2.2, 4],
      [100, 0.5, 1],
    ];
    for (const [target, demand, expected] of cases) {
      const scaler = new Autoscaler({ target });
      feed(scaler, 0, 60, demand);
      const decision = scaler.decide(60 * SECOND, expected);
      const label = `target ${target}, demand ${demand}`;
      assert.deepEqual([decision.desired, decision.panic], [expected, false], label);
      // Sixty float additions need not give back 2.1 exactly.
      assert.ok(Math.abs(decision.stableConcurrency - demand) < 1e-12, label);
      assert.ok(Math.abs(decision.panicConcurrency - demand) < 1e-12, label);
    }
    // One sample averages to exactly 2.1, whose quotient by 0.7 is 3.0000000000000004.
    const exact = new Autoscaler({ target: 0.7 });
    exact.record(SECOND, 2.1);
    assert.equal(exact.decide(SECOND, 3).desired, 3);
  });

  it('enters panic on a burst and scales up at once, then never down until a stable window without panic', () => {
    const scaler = new Autoscaler({ target: 1 });
    const steady = run(scaler, 0, 60, () => 1, 1);
    assert.equal(steady.ready, 1);
    assert.ok([...steady.trace.values()].every((d) => !d.panic));

    // Six seconds at 10, then back to 1.
    const { trace } = run(scaler, 60, 130, (second) => (second <= 66 ? 10 : 1), 1);
    // First burst tick: the 6 s window holds five 1s and one 10 (2.5, so 3 procs), 3 >= 2 × 1 ready.
    assert.deepEqual(at(trace, 61), {
      desired: 3,
      panic: true,
      stableConcurrency: 69 / 60,
      panicConcurrency: 2.5,
    });
    // The stable window alone would still ask for 2: panic is what scales to the burst.
    assert.equal(Math.ceil(at(trace, 61).stableConcurrency), 2);
    assert.deepEqual(
      [62, 63, 64, 65, 66].map((second) => at(trace, second).desired),
      [4, 6, 7, 9, 10],
    );

    // The burst is over at 67 and the panic window is all 1s from 72, yet nothing shrinks.
    assert.equal(at(trace, 72).panicConcurrency, 1);
    for (let second = 61; second <= 120; second++) {
      assert.deepEqual([second, at(trace, second).panic], [second, true]);
      if (second >= 66) assert.deepEqual([second, at(trace, second).desired], [second, 10]);
    }

    // The condition last held at 61: one stable window later panic ends and scale-down starts,
    // halving at most per decision (10 → 5 → 2 ...), down to what the stable window asks for.
    assert.deepEqual(at(trace, 121), {
      desired: 5,
      panic: false,
      stableConcurrency: 1.75,
      panicConcurrency: 1,
    });
    assert.equal(at(trace, 122).desired, 2);
    assert.equal(at(trace, 127).desired, 1);
    assert.equal(at(trace, 130).desired, 1);
  });

  it('stays in panic while the condition keeps holding', () => {
    const scaler = new Autoscaler({ target: 1, stableWindowMs: 10 * SECOND, panicWindowMs: SECOND });
    // Demand doubles every second: every decision finds twice the ready procs needed.
    let ready = 1;
    for (let second = 1; second <= 30; second++) {
      const demand = 2 ** Math.min(second, 9);
      scaler.record(second * SECOND, demand);
      const decision = scaler.decide(second * SECOND, ready);
      if (second <= 9) assert.deepEqual([second, decision.panic, decision.desired], [second, true, demand]);
      ready = decision.desired;
    }
    // Last condition at 9 s (512 vs 256 ready), so panic ended at 19 s; demand is steady at 512.
    const after = scaler.decide(30 * SECOND, ready);
    assert.deepEqual([after.panic, after.desired], [false, 512]);
  });

  it('takes the stable count in panic when the long window asks for more', () => {
    const scaler = new Autoscaler({ target: 1, stableWindowMs: 10 * SECOND, panicWindowMs: SECOND });
    scaler.record(1 * SECOND, 1);
    assert.equal(scaler.decide(1 * SECOND, 1).desired, 1);
    scaler.record(2 * SECOND, 4);
    assert.equal(scaler.decide(2 * SECOND, 1).desired, 4);
    // A burst between decisions, already gone from the 1 s panic window at the next one.
    feed(scaler, 2, 8, 20);
    scaler.record(9 * SECOND, 0);
    const decision = scaler.decide(9 * SECOND, 4);
    assert.deepEqual(
      [decision.panic, decision.panicConcurrency, decision.stableConcurrency, decision.desired],
      [true, 0, 125 / 9, 14],
    );
  });

  it('panics from zero ready procs only when the burst needs at least the threshold', () => {
    const small = new Autoscaler({ target: 1 });
    small.record(SECOND, 1);
    assert.deepEqual(small.decide(SECOND, 0), single(1, false, 1));

    const burst = new Autoscaler({ target: 1 });
    burst.record(SECOND, 5);
    assert.deepEqual(burst.decide(SECOND, 0), single(5, true, 5));
  });

  it('scales down gradually, by at most maxScaleDownRate per decision', () => {
    const scaler = new Autoscaler({ target: 1 });
    feed(scaler, 0, 60, 8);
    assert.equal(scaler.decide(60 * SECOND, 8).desired, 8);
    feed(scaler, 60, 120, 1);
    assert.equal(scaler.decide(120 * SECOND, 8).desired, 4);
    assert.equal(scaler.decide(120 * SECOND, 4).desired, 2);
    assert.equal(scaler.decide(120 * SECOND, 2).desired, 1);
    assert.equal(scaler.decide(120 * SECOND, 1).desired, 1);

    const steep = new Autoscaler({ target: 1, maxScaleDownRate: 4 });
    feed(steep, 0, 60, 1);
    assert.equal(steep.decide(60 * SECOND, 8).desired, 2);
  });

  it('scales up by at most maxScaleUpRate per decision, in panic too', () => {
    const scaler = new Autoscaler({ target: 1, maxScaleUpRate: 3 });
    scaler.record(SECOND, 100);
    // No ready procs counts as one for the rate: 0 → 3.
    assert.deepEqual(
      [scaler.decide(SECOND, 0).desired, scaler.decide(SECOND, 3).desired, scaler.decide(SECOND, 9).desired],
      [3, 9, 27],
    );
    assert.equal(scaler.decide(SECOND, 9).panic, true);
  });

  it('asks for 0 once demand has been gone for a whole stable window', () => {
    const scaler = new Autoscaler({ target: 1 });
    feed(scaler, 0, 10, 4);
    feed(scaler, 10, 69, 0);
    // The 4 at 10 s is still inside the window at 69 s: not idle, and the decision keeps a proc.
    assert.equal(scaler.idle(69 * SECOND), false);
    assert.equal(scaler.decide(69 * SECOND, 1).desired, 1);
    scaler.record(70 * SECOND, 0);
    assert.equal(scaler.idle(70 * SECOND), true);
    // No floor from maxScaleDownRate here: 8 ready still go to 0 in one decision.
    assert.deepEqual(scaler.decide(70 * SECOND, 8), single(0, false, 0));
  });

  it('is idle with no samples, or only samples of zero demand, and leaves panic when idle', () => {
    const scaler = new Autoscaler({ target: 1 });
    assert.equal(scaler.idle(0), true);
    assert.equal(scaler.decide(0, 0).desired, 0);
    feed(scaler, 0, 5, 0);
    assert.equal(scaler.idle(5 * SECOND), true);

    scaler.record(6 * SECOND, 10);
    assert.equal(scaler.idle(6 * SECOND), false);
    assert.equal(scaler.decide(6 * SECOND, 1).panic, true);
    // Sixty seconds later without a single record, the burst has left both windows.
    assert.equal(scaler.idle(66 * SECOND), true);
    assert.deepEqual(scaler.decide(66 * SECOND, 10), single(0, false, 0));
    // A new, small demand is judged afresh rather than held at the old panic count.
    scaler.record(67 * SECOND, 1);
    assert.deepEqual(
      [scaler.decide(67 * SECOND, 1).desired, scaler.decide(67 * SECOND, 1).panic],
      [1, false],
    );
  });

  it('averages only the samples inside each window; the panic window defaults to 10% of the stable one', () => {
    const scaler = new Autoscaler({ target: 1, stableWindowMs: 10 * SECOND });
    scaler.record(1 * SECOND, 9);
    scaler.record(2 * SECOND, 0);
    // The panic window is (1 s, 2 s]: the 9 is in the stable window only.
    const decision = scaler.decide(2 * SECOND, 9);
    assert.deepEqual([decision.stableConcurrency, decision.panicConcurrency], [4.5, 0]);
    // 11 s: the sample at 1 s is exactly one window old and drops out.
    scaler.record(11 * SECOND, 2);
    assert.equal(scaler.decide(11 * SECOND, 1).stableConcurrency, 1);
  });

  it('keeps averaging correctly over many windows of samples', () => {
    // Ticks every 10 ms for 10 minutes: far more than one window of samples passes through.
    const scaler = new Autoscaler({ target: 1 });
    for (let now = 10; now <= 600_000; now += 10) scaler.record(now, now > 540_000 ? 6 : 2);
    const decision = scaler.decide(600_000, 6);
    assert.deepEqual([decision.stableConcurrency, decision.panicConcurrency, decision.desired], [6, 6, 6]);
  });

  it('keeps samples in order when the clock steps back', () => {
    const scaler = new Autoscaler({ target: 1 });
    scaler.record(10 * SECOND, 4);
    scaler.record(5 * SECOND, 2);
    // The late sample counts as taken at 10 s, so both are in the windows at 10 s.
    assert.equal(scaler.decide(10 * SECOND, 3).stableConcurrency, 3);
  });

  it('rejects options that cannot work, with a RangeError', () => {
    const bad: AutoscalerOptions[] = [
      { target: 0 },
      { target: -1 },
      { target: Number.NaN },
      { target: Number.POSITIVE_INFINITY },
      { target: 1, stableWindowMs: 0 },
      { target: 1, panicWindowMs: -5 },
      { target: 1, stableWindowMs: 10_000, panicWindowMs: 10_001 },
      { target: 1, panicThreshold: 1 },
      { target: 1, maxScaleUpRate: 1 },
      { target: 1, maxScaleDownRate: 0.5 },
      { target: 1, maxScaleDownRate: Number.NaN },
    ];
    for (const options of bad) {
      assert.throws(() => new Autoscaler(options), RangeError, JSON.stringify(options));
    }
    const scaler = new Autoscaler({ target: 1, stableWindowMs: 10_000, panicWindowMs: 10_000 });
    assert.throws(() => scaler.record(0, -1), RangeError);
    assert.throws(() => scaler.record(0, Number.NaN), RangeError);
    assert.throws(() => scaler.decide(0, -1), RangeError);
    assert.throws(() => scaler.decide(0, 1.5), RangeError);
  });
});

describe('ConcurrencyMeter', () => {
  it('weights each in-flight count by how long it lasted', () => {
    const meter = new ConcurrencyMeter(1000);
    meter.set(1000, 4);
    meter.set(1500, 0);
    assert.equal(meter.take(2000), 2);

    meter.set(2000, 1);
    meter.set(2250, 3);
    assert.equal(meter.take(3000), 2.5);
  });

  it('starts a new interval at each take, carrying the current count over', () => {
    const meter = new ConcurrencyMeter(0);
    meter.set(0, 6);
    assert.equal(meter.take(1000), 6);
    // Nothing changed: the 6 calls are still in flight for the whole next interval.
    assert.equal(meter.take(3000), 6);
    meter.set(3500, 0);
    assert.equal(meter.take(4000), 3);
    assert.equal(meter.take(5000), 0);
  });

  it('answers the current count for an empty interval and ignores time going back', () => {
    const meter = new ConcurrencyMeter(1000);
    meter.set(1000, 3);
    assert.equal(meter.take(1000), 3);
    meter.set(500, 5);
    // The step back added no time; 5 then ran for the 1000 ms to 2000.
    assert.equal(meter.take(2000), 5);
    assert.throws(() => meter.set(2000, -1), RangeError);
  });
});
