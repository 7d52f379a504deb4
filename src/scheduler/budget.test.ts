import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { MemoryBudget, mergeStats } from './budget.js';
import { Scheduler } from './scheduler.js';
import { spec } from './test-spec.js';
import type { ProcBackend } from './types.js';

const MB = 1024 * 1024;

/** Two schedulers (as the isolate and native drivers have) on one budget, one clock. */
function twoDrivers(budgetBytes: number) {
  let now = 1_000_000;
  const budget = new MemoryBudget(budgetBytes);
  const evicted: string[] = [];
  const make = (name: string) => {
    const backend: ProcBackend = {
      hostCount: 1,
      spawn: async () => undefined,
      evict: (_id, _host, key) => void evicted.push(`${name}:${key}`),
    };
    return new Scheduler(
      backend,
      { maxProcsPerVersion: 4, keepAliveMs: 60_000, memoryBudget: budget, procMemoryEstimateBytes: 4 * MB },
      () => now,
    );
  };
  return {
    budget,
    isolates: make('isolate'),
    processes: make('process'),
    evicted,
    advance: (ms: number) => (now += ms),
  };
}

describe('MemoryBudget: one budget for both drivers', () => {
  it('counts both schedulers procs against one budget', async () => {
    const { isolates, processes, budget } = twoDrivers(8 * MB);
    await isolates.acquire(spec('a'));
    await processes.acquire(spec('b'));
    assert.equal(budget.usedBytes(), 8 * MB);
    // Each scheduler alone holds 4 MiB of 8, but the node is full: busy procs only, so 429.
    await assert.rejects(
      isolates.acquire(spec('c')),
      (err: unknown) => err instanceof ProcyonError && err.code === 'PROCYON_TOO_MANY_REQUESTS',
    );
    await assert.rejects(
      processes.acquire(spec('d')),
      (err: unknown) => err instanceof ProcyonError && err.code === 'PROCYON_TOO_MANY_REQUESTS',
    );
  });

  it("evicts the other driver's least recently used idle proc to make room", async () => {
    const { isolates, processes, evicted, advance } = twoDrivers(8 * MB);
    processes.release(await processes.acquire(spec('old')));
    advance(1_000);
    isolates.release(await isolates.acquire(spec('newer')));
    advance(1_000);
    await isolates.acquire(spec('c'));
    assert.deepEqual(evicted, ['process:ns/old@v1']);
    assert.equal(processes.stats().evictions.memory, 1);
    assert.equal(processes.stats().procs, 0);
  });

  it('reports the budget once when the figures are merged for /metrics', async () => {
    const { isolates, processes, budget } = twoDrivers(10 * MB);
    await isolates.acquire(spec('a'));
    await processes.acquire(spec('b'));
    const merged = mergeStats(budget, [isolates.stats(), processes.stats()]);
    assert.equal(merged.memoryBudgetBytes, 10 * MB);
    assert.equal(merged.memoryBytes, 8 * MB);
    assert.equal(merged.procs, 2);
    assert.equal(merged.versions.length, 2);
  });
});
