import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CpuGovernor } from './cpu-governor.js';

describe('CpuGovernor', () => {
  it('leaves functions it has not seen, and light ones, unlimited', () => {
    const g = new CpuGovernor({ heavyLimit: 1 });
    assert.equal(g.limit('ns/new'), Infinity);
    for (let i = 0; i < 20; i++) g.observe('ns/light', 2, 30, false);
    assert.equal(g.limit('ns/light'), Infinity);
  });

  it('limits a function whose calls time out spinning, counting their whole duration', () => {
    const g = new CpuGovernor({ heavyLimit: 1 });
    // A disposed isolate reports no CPU: the timeout's wall time stands in for it.
    g.observe('ns/hog', 0, 2_000, true);
    assert.equal(g.limit('ns/hog'), 1);
    assert.ok(g.heavy('ns/hog'));
  });

  it('does not count slow I/O as CPU: a call that waits long but burns little stays light', () => {
    const g = new CpuGovernor({ heavyLimit: 1 });
    for (let i = 0; i < 5; i++) g.observe('ns/io', 3, 4_000, false);
    assert.equal(g.limit('ns/io'), Infinity);
  });

  it('lifts the limit once the function turns light again (exponential average)', () => {
    const g = new CpuGovernor({ heavyLimit: 2, heavyCpuMs: 100, alpha: 0.5 });
    g.observe('ns/f', 400, 400, false);
    assert.equal(g.limit('ns/f'), 2);
    g.observe('ns/f', 0, 1, false); // 200
    g.observe('ns/f', 0, 1, false); // 100: still heavy at the threshold
    assert.equal(g.limit('ns/f'), 2);
    g.observe('ns/f', 0, 1, false); // 50
    assert.equal(g.limit('ns/f'), Infinity);
  });

  it('never limits to zero', () => {
    const g = new CpuGovernor({ heavyLimit: 0 });
    g.observe('ns/hog', 500, 500, false);
    assert.equal(g.limit('ns/hog'), 1);
  });
});
