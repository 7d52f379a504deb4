import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { Admission, type AdmissionTimers } from './admission.js';

/** Timers that fire only when the test says so. */
function manualTimers(): AdmissionTimers & { fireAll(): void; pending(): number } {
  const timers = new Map<number, () => void>();
  let next = 1;
  return {
    set: (fn) => {
      timers.set(next, fn);
      return next++;
    },
    clear: (handle) => void timers.delete(handle as number),
    fireAll: () => {
      const due = [...timers.values()];
      timers.clear();
      for (const fn of due) fn();
    },
    pending: () => timers.size,
  };
}

const limits = { perFunction: 2, perNamespace: 3, queueSize: 2, queueTimeoutMs: 1000 };
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('Admission', () => {
  it('admits up to the per-function limit, queues the rest and admits them as slots free', async () => {
    const a = new Admission(limits, manualTimers());
    const r1 = await a.acquire('ns', 'f');
    await a.acquire('ns', 'f');
    const third = a.acquire('ns', 'f');
    assert.equal(await settled(third), false, 'waits while f has 2 running');
    assert.equal(a.queued, 1);
    r1();
    const r3 = await third;
    assert.equal(a.running('ns', 'f'), 2);
    r3();
    r3(); // a second release changes nothing
    assert.equal(a.running('ns', 'f'), 1);
  });

  it('limits a namespace across its functions, and other namespaces are not held up', async () => {
    const a = new Admission(limits, manualTimers());
    await a.acquire('ns', 'f');
    await a.acquire('ns', 'g');
    await a.acquire('ns', 'h');
    const fourth = a.acquire('ns', 'k');
    assert.equal(await settled(fourth), false, 'namespace ns is at 3');
    const other = a.acquire('other', 'f');
    assert.equal(await settled(other), true, 'another namespace still gets in');
  });

  it('a full queue is an immediate 429 with Retry-After; a wait past the deadline is 429 too', async () => {
    const timers = manualTimers();
    const a = new Admission({ ...limits, perFunction: 1 }, timers);
    await a.acquire('ns', 'f');
    const w1 = a.acquire('ns', 'f');
    const w2 = a.acquire('ns', 'f');
    await assert.rejects(a.acquire('ns', 'f'), (err: unknown) => {
      assert.ok(err instanceof ProcyonError);
      assert.equal(err.status, 429);
      assert.deepEqual(err.details, { retryAfterSeconds: 1 });
      return true;
    });
    timers.fireAll();
    await assert.rejects(w1, /within 1000 ms/);
    await assert.rejects(w2, /within 1000 ms/);
    assert.equal(a.queued, 0);
  });

  it('a waiter for a busy function does not block a waiter that fits', async () => {
    const a = new Admission({ ...limits, perFunction: 1, perNamespace: 10 }, manualTimers());
    const f = await a.acquire('ns', 'f');
    const g = await a.acquire('ns', 'g');
    const waitsF = a.acquire('ns', 'f');
    const waitsG = a.acquire('ns', 'g');
    g();
    assert.equal(await settled(waitsG), true);
    assert.equal(await settled(waitsF), false);
    f();
    assert.equal(await settled(waitsF), true);
  });
});
