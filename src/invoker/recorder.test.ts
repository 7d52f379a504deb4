import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ActivationRecord, Store } from '../store/index.js';
import { ActivationRecorder, MAX_PENDING } from './recorder.js';

function record(i: number): ActivationRecord {
  return { id: `a${i}`, namespace: 'ns' } as ActivationRecord;
}

/** A store whose activation writes fail until `healthy` is set, then keep what they get. */
function flakyStore() {
  const written: ActivationRecord[] = [];
  const state = { healthy: false, attempts: 0 };
  const store = {
    insertActivations(records: readonly ActivationRecord[]): Promise<void> {
      state.attempts++;
      if (!state.healthy) return Promise.reject(new Error('SQLITE_FULL'));
      written.push(...records);
      return Promise.resolve();
    },
  } as unknown as Store;
  return { store, written, state };
}

describe('ActivationRecorder', () => {
  it('keeps records while the store refuses them and writes them once it recovers', async () => {
    const { store, written, state } = flakyStore();
    const recorder = new ActivationRecorder(store, pino({ level: 'silent' }), 60_000);
    for (let i = 0; i < 10; i++) recorder.add(record(i));
    await recorder.flush();
    assert.equal(recorder.pendingCount, 10);
    state.healthy = true;
    await recorder.flush();
    assert.deepEqual(
      written.map((r) => r.id),
      Array.from({ length: 10 }, (_, i) => `a${i}`),
    );
    await recorder.close();
  });

  it('bounds what a long outage holds: the oldest records past the cap are dropped and counted', async () => {
    const { store, state } = flakyStore();
    const recorder = new ActivationRecorder(store, pino({ level: 'silent' }), 60_000);
    await recorder.flush(); // nothing pending: no write
    recorder.add(record(0));
    await recorder.flush(); // fails: the recorder is now in an outage
    const before = state.attempts;
    for (let i = 1; i < MAX_PENDING + 250; i++) recorder.add(record(i));
    assert.equal(recorder.pendingCount, MAX_PENDING);
    assert.equal(recorder.dropped, 250);
    assert.equal(recorder.find('ns', 'a0'), undefined, 'the oldest went first');
    assert.ok(recorder.find('ns', `a${MAX_PENDING + 249}`));
    // During the outage only the timer retries, not every call.
    assert.equal(state.attempts, before);
    state.healthy = true;
    await recorder.close();
    assert.equal(recorder.pendingCount, 0);
  });
});
