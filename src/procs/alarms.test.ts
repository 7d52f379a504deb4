/** The alarm scheduler's policy with an injected clock and an in-memory store (docs/processes.md). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../logger.js';
import { SqliteStore } from '../store/sqlite/index.js';
import type { ProcKey } from '../store/index.js';
import { AlarmScheduler, MAX_RETRIES, type AlarmClock } from './alarms.js';

class FakeClock implements AlarmClock {
  time = 1_000_000;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): { clear(): void } {
    const timer = { at: this.time + ms, fn, live: true };
    this.#timers.push(timer);
    return { clear: () => void (timer.live = false) };
  }

  /** Moves time on, firing due timers in order, and lets the async work they start settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.time = Math.max(this.time, due.at);
      due.fn();
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = end;
  }
}

const id: ProcKey = { namespace: 'ns', className: 'C', name: 'x' };

async function setup(fire: (retry: number) => Promise<void>) {
  const store = await SqliteStore.create(':memory:');
  const clock = new FakeClock();
  const fired: number[] = [];
  const alarms = new AlarmScheduler({
    store,
    clock,
    logger: createLogger('silent'),
    fire: async (_id, retry) => {
      fired.push(retry);
      await fire(retry);
    },
  });
  await alarms.start();
  return { store, clock, fired, alarms };
}

describe('AlarmScheduler', () => {
  it('fires a due alarm once and deletes it', async () => {
    const { store, clock, fired, alarms } = await setup(async () => undefined);
    await alarms.set(id, clock.now() + 5_000);
    await clock.advance(4_999);
    assert.deepEqual(fired, []);
    await clock.advance(1);
    assert.deepEqual(fired, [0]);
    assert.equal(await store.procs.getAlarm(id), null);
    await clock.advance(60_000);
    assert.deepEqual(fired, [0]);
  });

  it('retries a failing alarm with backoff 1 s, 2 s, 4 s ... and drops it after the last retry', async () => {
    const { store, clock, fired, alarms } = await setup(async () => {
      throw new Error('fails');
    });
    await alarms.set(id, clock.now());
    await clock.advance(0);
    assert.deepEqual(fired, [0]);
    await clock.advance(999);
    assert.deepEqual(fired, [0], 'not before the first backoff');
    await clock.advance(1);
    assert.deepEqual(fired, [0, 1]);
    await clock.advance(2_000);
    assert.deepEqual(fired, [0, 1, 2]);
    await clock.advance(10 * 60_000);
    assert.equal(fired.length, MAX_RETRIES + 1);
    assert.equal(await store.procs.getAlarm(id), null);
  });

  it('keeps an alarm the handler set again while it ran', async () => {
    const late: { set?: () => Promise<void> } = {};
    const ctx = await setup(async () => {
      if (ctx.fired.length === 1) await late.set?.();
    });
    const { alarms, clock } = ctx;
    late.set = () => alarms.set(id, clock.now() + 10_000);
    await alarms.set(id, clock.now() + 1);
    await clock.advance(1);
    assert.deepEqual(ctx.fired, [0]);
    assert.equal(await ctx.store.procs.getAlarm(id), clock.now() + 10_000);
    await clock.advance(10_000);
    assert.deepEqual(ctx.fired, [0, 0]);
  });

  it('loads stored alarms at start; one due while the node was down fires at once', async () => {
    const store = await SqliteStore.create(':memory:');
    await store.procs.setAlarm(id, 5);
    const fired: string[] = [];
    const clock = new FakeClock();
    const alarms = new AlarmScheduler({
      store,
      clock,
      logger: createLogger('silent'),
      fire: async (key) => void fired.push(key.name),
    });
    await alarms.start();
    await clock.advance(0);
    assert.deepEqual(fired, ['x']);
  });

  it('a deleted alarm does not fire', async () => {
    const { clock, fired, alarms } = await setup(async () => undefined);
    await alarms.set(id, clock.now() + 100);
    await alarms.delete(id);
    await clock.advance(1_000);
    assert.deepEqual(fired, []);
  });
});

describe('AlarmScheduler and a slow store', () => {
  it('keeps an alarm set right after the previous one was delivered, while that one is removed', async () => {
    const store = await SqliteStore.create(':memory:');
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    // The store answers slowly: a set lands between the removal's read and its delete.
    const procs = store.procs;
    const slow = {
      listAlarms: () => procs.listAlarms(),
      deleteAlarm: (key: ProcKey) => procs.deleteAlarm(key),
      getAlarm: async (key: ProcKey) => {
        await tick();
        return procs.getAlarm(key);
      },
      setAlarm: async (key: ProcKey, at: number) => {
        await procs.setAlarm(key, at);
        for (let i = 0; i < 5; i++) await tick();
      },
    };
    const clock = new FakeClock();
    const fired: number[] = [];
    const later = clock.now() + 60_000;
    const alarms: AlarmScheduler = new AlarmScheduler({
      store: { procs: slow },
      clock,
      logger: createLogger('silent'),
      fire: async () => {
        fired.push(clock.now());
        // Another event of the instance sets the next alarm as this one ends.
        if (fired.length === 1) setImmediate(() => void alarms.set(id, later));
      },
    });
    await alarms.start();
    await alarms.set(id, clock.now() + 1);
    await clock.advance(1);
    assert.equal(fired.length, 1);
    assert.equal(await procs.getAlarm(id), later, 'the new alarm is still stored');
    await clock.advance(60_000);
    assert.deepEqual(fired.length, 2);
  });
});
