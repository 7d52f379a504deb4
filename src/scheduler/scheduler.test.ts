import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { instanceSpec } from '../registry/index.js';
import { MemoryBudget } from './budget.js';
import { Scheduler } from './scheduler.js';
import type { ProcSpec } from '../sandbox/types.js';
import { spec } from './test-spec.js';
import type { ProcBackend, SchedulerOptions } from './types.js';

const MB = 1024 * 1024;

/** A backend that records commands; spawns settle when the test says so. */
function fakeBackend(hostCount = 2, backgroundHost?: number) {
  const spawned: { id: number; host: number; key: string; settle: (ok: boolean) => void }[] = [];
  const evicted: { id: number; host: number; key: string; last: boolean }[] = [];
  const backend: ProcBackend = {
    hostCount,
    ...(backgroundHost === undefined ? {} : { backgroundHost }),
    spawn: (id, host, s) =>
      new Promise<void>((resolve, reject) => {
        spawned.push({ id, host, key: s.key, settle: (ok) => (ok ? resolve() : reject(new Error('load'))) });
      }),
    evict: (id, host, key, last) => void evicted.push({ id, host, key, last }),
  };
  return { backend, spawned, evicted };
}

function setup(options: Partial<SchedulerOptions> = {}, hostCount = 2, backgroundHost?: number) {
  let now = 1_000_000;
  const fake = fakeBackend(hostCount, backgroundHost);
  const scheduler = new Scheduler(
    fake.backend,
    {
      maxProcsPerVersion: 4,
      keepAliveMs: 60_000,
      memoryBudget: new MemoryBudget(1024 * MB),
      stableWindowMs: 10_000,
      panicWindowMs: 1_000,
      homeHost: () => 0,
      ...options,
    },
    () => now,
  );
  return {
    ...fake,
    scheduler,
    advance: (ms: number) => (now += ms),
    /** Ticks once per `step` ms for `ms` ms. */
    run: (ms: number, step = 1_000) => {
      for (let t = 0; t < ms; t += step) {
        now += step;
        scheduler.tick();
      }
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Scheduler: picking procs', () => {
  it('makes a cold proc for the first call and reuses it warm', async () => {
    const { scheduler } = setup();
    const a = await scheduler.acquire(spec('f'));
    assert.equal(a.cold, true);
    scheduler.release(a);
    const b = await scheduler.acquire(spec('f'));
    assert.equal(b.cold, false);
    assert.equal(b.id, a.id);
  });

  it('gives each in-flight call its own proc at concurrency 1, up to maxInstances, then queues', async () => {
    const { scheduler } = setup();
    const s = spec('f', { maxInstances: 2 });
    const a = await scheduler.acquire(s);
    const b = await scheduler.acquire(s);
    assert.notEqual(a.id, b.id);
    let third: number | undefined;
    const waiting = scheduler.acquire(s).then((l) => (third = l.id));
    await flush();
    assert.equal(third, undefined, 'the third call waits at maxInstances');
    assert.equal(scheduler.stats().versions[0]?.waiting, 1);
    scheduler.release(a);
    await waiting;
    assert.equal(third, a.id, 'it gets the proc that came free');
  });

  it('lets a nested (service-binding) call exceed maxInstances instead of waiting', async () => {
    const { scheduler } = setup();
    const s = spec('f', { maxInstances: 1 });
    await scheduler.acquire(s);
    const nested = await scheduler.acquire(s, true);
    assert.equal(nested.cold, true);
  });

  it('packs up to `concurrency` calls on a proc before making another', async () => {
    const { scheduler } = setup();
    const s = spec('f', { concurrency: 3 });
    const leases = [];
    for (let i = 0; i < 4; i++) leases.push(await scheduler.acquire(s));
    const ids = leases.map((l) => l.id);
    // The least-loaded proc with room is chosen: the second proc takes the 4th call.
    assert.equal(new Set(ids).size, 2);
    assert.equal(ids.filter((id) => id === ids[0]).length, 3);
  });

  it('spreads one version over hosts, the home host first', async () => {
    const { scheduler } = setup({ homeHost: () => 1 });
    const s = spec('f');
    const a = await scheduler.acquire(s);
    const b = await scheduler.acquire(s);
    const c = await scheduler.acquire(s);
    assert.deepEqual([a.host, b.host, c.host], [1, 0, 1]);
  });

  it('puts CPU-heavy functions on the background host, and only them', async () => {
    const heavy = new Set(['hog']);
    const { scheduler } = setup({ heavy: (_ns, fn) => heavy.has(fn) }, 2, 2);
    const hogs = [await scheduler.acquire(spec('hog')), await scheduler.acquire(spec('hog'))];
    assert.deepEqual(
      hogs.map((l) => l.host),
      [2, 2],
    );
    const light = [await scheduler.acquire(spec('f')), await scheduler.acquire(spec('f'))];
    assert.deepEqual(light.map((l) => l.host).sort(), [0, 1]);
    assert.deepEqual(scheduler.stats().versions.find((v) => v.fn === 'hog')?.perHost, [0, 0, 2]);
  });

  it('forgets a proc whose call reports it gone, and the next call is cold', async () => {
    const { scheduler } = setup();
    const a = await scheduler.acquire(spec('f'));
    scheduler.release(a, true);
    const b = await scheduler.acquire(spec('f'));
    assert.equal(b.cold, true);
    assert.notEqual(b.id, a.id);
  });

  it('drops a dead host and wakes waiters, who get procs elsewhere', async () => {
    const { scheduler } = setup({ homeHost: () => 0 });
    const s = spec('f', { maxInstances: 1 });
    const a = await scheduler.acquire(s);
    assert.equal(a.host, 0);
    const waiting = scheduler.acquire(s);
    scheduler.dropHost(0);
    const b = await waiting;
    assert.equal(b.cold, true);
    scheduler.release(a, true); // the crashed call's answer arrives later: harmless
    assert.equal(scheduler.stats().procs, 1);
  });
});

describe('Scheduler: keep-alive and scale to zero', () => {
  it('keeps the last proc for keepAliveMs after the last call, then scales to zero', async () => {
    const { scheduler, run, evicted } = setup();
    const s = spec('f', { keepAliveMs: 30_000 });
    scheduler.release(await scheduler.acquire(s));
    run(29_000);
    assert.equal(scheduler.stats().procs, 1, 'still warm before keep-alive');
    run(2_000);
    assert.equal(scheduler.stats().procs, 0, 'gone after keep-alive');
    assert.equal(evicted[0]?.last, true, 'the host may drop the code with it');
    assert.equal(scheduler.stats().evictions.keepalive, 1);
  });

  it('a keep-alive shorter than the autoscaler window still scales to zero, with no proc made again', async () => {
    const { scheduler, run, spawned } = setup({ stableWindowMs: 60_000 });
    const s = spec('f', { keepAliveMs: 1_000 });
    const lease = await scheduler.acquire(s);
    run(2_000, 100); // the autoscaler sees one call in flight for 2 s
    scheduler.release(lease);
    const settleAll = async (): Promise<void> => {
      for (const p of spawned.splice(0)) p.settle(true);
      await flush();
    };
    for (let i = 0; i < 30; i++) {
      run(100, 100);
      await settleAll();
    }
    assert.equal(scheduler.stats().procs, 0, 'gone after keep-alive');
    // The window still remembers the burst; that alone must not make procs for nobody.
    for (let i = 0; i < 100; i++) run(100, 100);
    assert.equal(spawned.length, 0, 'no pre-warm of a version idle past its keep-alive');
    assert.equal(scheduler.stats().procs, 0);
  });

  it('never evicts a busy proc, however long it runs', async () => {
    const { scheduler, run, evicted } = setup();
    const lease = await scheduler.acquire(spec('f', { keepAliveMs: 1_000 }));
    run(120_000);
    assert.equal(scheduler.stats().versions[0]?.busy, 1);
    assert.ok(!evicted.some((e) => e.id === lease.id));
  });

  it('keeps minInstances warm with no traffic at all, and refills them', async () => {
    const { scheduler, spawned, run } = setup();
    const s = spec('f', { minInstances: 2, keepAliveMs: 1_000 });
    scheduler.prewarm(s);
    assert.equal(spawned.length, 2);
    for (const p of spawned) p.settle(true);
    await flush();
    run(300_000);
    assert.equal(scheduler.stats().versions[0]?.idle, 2);
    const lease = await scheduler.acquire(s);
    assert.equal(lease.cold, false, 'the first call finds a pre-warmed proc');
    scheduler.release(lease, true); // it died: the tick makes another
    run(1_000);
    assert.equal(spawned.length, 3);
  });

  it('backs off after a pre-warm fails instead of retrying every tick', async () => {
    const { scheduler, spawned, run } = setup();
    scheduler.prewarm(spec('f', { minInstances: 1 }));
    spawned[0]?.settle(false);
    await flush();
    run(5_000);
    assert.equal(spawned.length, 1);
    run(30_000);
    assert.equal(spawned.length, 2);
  });

  it('retires a version: idle procs go now, busy ones when their call ends', async () => {
    const { scheduler, evicted } = setup();
    const s = spec('f');
    const a = await scheduler.acquire(s);
    const b = await scheduler.acquire(s);
    scheduler.release(a);
    scheduler.retire('ns/f@');
    assert.deepEqual(
      evicted.map((e) => e.id),
      [a.id],
    );
    scheduler.release(b);
    assert.deepEqual(
      evicted.map((e) => e.id),
      [a.id, b.id],
    );
    const fresh = await scheduler.acquire(s);
    assert.equal(fresh.cold, true, 'the same code deployed again starts afresh');
  });
});

describe('Scheduler: autoscaling', () => {
  it('pre-warms toward demand: steady concurrency 2 at concurrency 1 wants ceil(2/0.7) = 3 procs', async () => {
    const { scheduler, spawned, run } = setup();
    const s = spec('f');
    await scheduler.acquire(s);
    await scheduler.acquire(s);
    run(3_000);
    const row = scheduler.stats().versions[0];
    assert.equal(row?.desired, 3);
    assert.equal(spawned.length, 1, 'one proc made ahead of demand');
  });

  it('evicts surplus idle procs when demand falls, before keep-alive', async () => {
    const { scheduler, run, spawned } = setup({ maxProcsPerVersion: 8 });
    const s = spec('f', { keepAliveMs: 600_000 });
    const leases = [];
    for (let i = 0; i < 6; i++) leases.push(await scheduler.acquire(s));
    run(2_000);
    for (const l of leases.slice(1)) scheduler.release(l);
    for (let i = 0; i < 30; i++) {
      run(2_000);
      for (const p of spawned.splice(0)) p.settle(true);
      await flush();
    }
    const row = scheduler.stats().versions[0];
    // One call still running: ceil(1/0.7) = 2 procs wanted (the spare may still be starting).
    assert.equal((row?.idle ?? 0) + (row?.busy ?? 0) + (row?.starting ?? 0), 2);
    assert.ok(scheduler.stats().evictions.scaledown >= 4);
  });

  it('never pre-warms beyond maxInstances', async () => {
    const { scheduler, spawned, run } = setup();
    const s = spec('f', { maxInstances: 2 });
    await scheduler.acquire(s);
    await scheduler.acquire(s);
    run(5_000);
    assert.equal(spawned.length, 0);
  });
});

describe('Scheduler: memory budget', () => {
  it('evicts the least recently used idle proc of another version to make room', async () => {
    const { scheduler, advance, evicted } = setup({
      memoryBudget: new MemoryBudget(10 * MB),
      procMemoryEstimateBytes: 4 * MB,
    });
    const a = await scheduler.acquire(spec('a'));
    scheduler.release(a);
    advance(1_000);
    const b = await scheduler.acquire(spec('b'));
    scheduler.release(b);
    advance(1_000);
    await scheduler.acquire(spec('c')); // 12 MiB > 10: the oldest idle (a) goes
    assert.deepEqual(
      evicted.map((e) => e.id),
      [a.id],
    );
    assert.equal(scheduler.stats().evictions.memory, 1);
  });

  it('uses measured memory once hosts report it', async () => {
    const { scheduler, evicted } = setup({
      memoryBudget: new MemoryBudget(10 * MB),
      procMemoryEstimateBytes: 4 * MB,
    });
    const a = await scheduler.acquire(spec('a'));
    scheduler.release(a);
    scheduler.reportMemory([[a.id, 1 * MB]]);
    for (const fn of ['b', 'c', 'd']) scheduler.release(await scheduler.acquire(spec(fn)));
    // New procs are estimated at the measured average (1 MiB): everything fits.
    assert.equal(evicted.length, 0);
    assert.equal(scheduler.stats().memoryBytes, 4 * MB);
  });

  it('refuses a cold start with 429 when only busy procs hold the budget', async () => {
    const { scheduler } = setup({ memoryBudget: new MemoryBudget(8 * MB), procMemoryEstimateBytes: 4 * MB });
    await scheduler.acquire(spec('a'));
    await scheduler.acquire(spec('b'));
    await assert.rejects(
      scheduler.acquire(spec('c')),
      (err: unknown) => err instanceof ProcyonError && err.code === 'PROCYON_TOO_MANY_REQUESTS',
    );
  });

  it('evicts minInstances procs only after every other idle proc', async () => {
    const { scheduler, spawned, advance, evicted } = setup({
      memoryBudget: new MemoryBudget(12 * MB),
      procMemoryEstimateBytes: 4 * MB,
    });
    scheduler.prewarm(spec('pinned', { minInstances: 1 }));
    spawned[0]?.settle(true);
    await flush();
    advance(1_000);
    const b = await scheduler.acquire(spec('b'));
    scheduler.release(b);
    advance(1_000);
    await scheduler.acquire(spec('c'));
    await scheduler.acquire(spec('d'));
    assert.deepEqual(
      evicted.map((e) => e.key),
      ['ns/b@v1'],
    );
  });
});

// Process instances (docs/scheduler.md, "Process instances").
const classSpec = (version = 'v1'): ProcSpec => ({
  ...spec('Counter', {}, 'ns', version),
  process: { className: 'Counter' },
});

function instanceSetup() {
  const evicted: number[] = [];
  const backend: ProcBackend = {
    hostCount: 2,
    spawn: async () => undefined,
    evict: (id) => void evicted.push(id),
  };
  const scheduler = new Scheduler(backend, {
    maxProcsPerVersion: 8,
    keepAliveMs: 60_000,
    memoryBudget: new MemoryBudget(1 << 30),
    stableWindowMs: 10_000,
    panicWindowMs: 1_000,
    homeHost: () => 0,
  });
  return { scheduler, evicted };
}

describe('Scheduler: process instances', () => {
  it('never gives an instance a second proc, even for nested calls past its concurrency', async () => {
    const { scheduler } = instanceSetup();
    const alice = instanceSpec(classSpec(), 'alice');
    const leases = [];
    for (let i = 0; i < 20; i++) leases.push(await scheduler.acquire(alice, true));
    assert.equal(new Set(leases.map((l) => l.id)).size, 1);
    assert.equal(scheduler.stats().procs, 1);
    for (const l of leases) scheduler.release(l);
  });

  it('holds the next proc of an evicted instance until its last event ends, across class versions', async () => {
    const { scheduler, evicted } = instanceSetup();
    const old = instanceSpec(classSpec('v1'), 'bob');
    const running = await scheduler.acquire(old);
    scheduler.retire('ns/Counter@'); // a redeploy of the class
    let got = false;
    const next = scheduler.acquire(instanceSpec(classSpec('v2'), 'bob')).then((lease) => {
      got = true;
      return lease;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(got, false, 'no second live proc while the old one runs');
    scheduler.release(running);
    const lease = await next;
    assert.notEqual(lease.id, running.id);
    assert.deepEqual(evicted, [running.id]);
    assert.equal(scheduler.stats().procs, 1);
  });

  it('discards a proc whose handler threw; other instances are untouched', async () => {
    const { scheduler, evicted } = instanceSetup();
    const a = await scheduler.acquire(instanceSpec(classSpec(), 'a'));
    const b = await scheduler.acquire(instanceSpec(classSpec(), 'b'));
    scheduler.discard(a);
    assert.deepEqual(evicted, [a.id]);
    assert.equal(scheduler.isLive('ns/Counter@v1#a'), false);
    assert.equal(scheduler.isLive('ns/Counter@v1#b'), true);
    assert.equal(scheduler.stats().evictions.failed, 1);
    scheduler.release(b);
  });

  it('evicts exactly one instance by key, not others sharing its prefix', async () => {
    const { scheduler } = instanceSetup();
    for (const name of ['ali', 'alice'])
      scheduler.release(await scheduler.acquire(instanceSpec(classSpec(), name)));
    scheduler.retire('ns/Counter@v1#ali', true);
    assert.equal(scheduler.isLive('ns/Counter@v1#ali'), false);
    assert.equal(scheduler.isLive('ns/Counter@v1#alice'), true);
  });
});
