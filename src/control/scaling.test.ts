import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { SCALING_LIMITS, scalingConfig } from './scaling.js';

const rejects = (input: Record<string, number>, message: RegExp, maxProcs = 8): void =>
  assert.throws(
    () => scalingConfig(input, maxProcs),
    (e: unknown) => e instanceof ProcyonError && e.code === 'PROCYON_VALIDATION' && message.test(e.message),
    JSON.stringify(input),
  );

describe('scalingConfig', () => {
  it('keeps only the fields given, in one order whatever order they came in', () => {
    assert.equal(scalingConfig(undefined, 8), undefined);
    assert.equal(scalingConfig({}, 8), undefined);
    assert.deepEqual(scalingConfig({ maxInstances: 3 }, 8), { maxInstances: 3 });
    const a = scalingConfig({ keepAliveMs: 5000, maxInstances: 4, concurrency: 2, minInstances: 1 }, 8);
    const b = scalingConfig({ concurrency: 2, minInstances: 1, maxInstances: 4, keepAliveMs: 5000 }, 8);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.deepEqual(Object.keys(a ?? {}), ['concurrency', 'minInstances', 'maxInstances', 'keepAliveMs']);
  });

  it('accepts both ends of every range', () => {
    for (const [field, { min, max }] of Object.entries(SCALING_LIMITS)) {
      assert.deepEqual(scalingConfig({ [field]: min }, 100), { [field]: min });
      assert.deepEqual(scalingConfig({ [field]: max }, 100), { [field]: max });
    }
  });

  it('rejects values outside the ranges and non-integers, naming the field and the range', () => {
    rejects({ concurrency: 0 }, /^scaling\.concurrency must be an integer from 1 to 1000, got 0$/);
    rejects({ concurrency: 1001 }, /scaling\.concurrency .* got 1001/);
    rejects({ concurrency: 2.5 }, /scaling\.concurrency .* got 2\.5/);
    rejects({ minInstances: -1 }, /scaling\.minInstances must be an integer from 0 to 100/);
    rejects({ minInstances: 101 }, /scaling\.minInstances/, 1000);
    rejects({ maxInstances: 0 }, /scaling\.maxInstances must be an integer from 1 to 1000/);
    rejects({ keepAliveMs: 0 }, /scaling\.keepAliveMs must be an integer from 1000 to 86400000, got 0/);
    rejects({ keepAliveMs: 86_400_001 }, /scaling\.keepAliveMs/);
  });

  it('rejects minInstances above maxInstances or above the node limit', () => {
    rejects(
      { minInstances: 3, maxInstances: 2 },
      /minInstances \(3\) must not be more than scaling\.maxInstances \(2\)/,
    );
    assert.deepEqual(scalingConfig({ minInstances: 2, maxInstances: 2 }, 8), {
      minInstances: 2,
      maxInstances: 2,
    });
    rejects(
      { minInstances: 9 },
      /minInstances \(9\) is more than this node allows per version \(8, PROCYON_MAX_PROCS_PER_VERSION\)/,
    );
    rejects({ minInstances: 9, maxInstances: 20 }, /this node allows per version \(8/);
    assert.deepEqual(scalingConfig({ minInstances: 8 }, 8), { minInstances: 8 });
  });
});
