/**
 * Start-up stages without a node: a failing stage undoes only the stages before it, last first,
 * and start-up rejects with that stage's own error; a graceful unwind runs every undo once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stages } from './stages.js';

const quiet = { error: () => undefined };

describe('start-up stages', () => {
  it('a middle stage that fails undoes only the earlier stages, in reverse, and rethrows its error', async () => {
    const undone: string[] = [];
    const stages = new Stages(quiet);
    const failure = new Error('port taken', { cause: new Error('EADDRINUSE') });
    assert.equal(
      await stages.run('lock', async () => ({ value: 1, undo: () => void undone.push('lock') })),
      1,
    );
    await stages.run('no undo', async () => ({ value: null }));
    await stages.run('store', async () => ({ value: 2, undo: async () => void undone.push('store') }));
    await assert.rejects(
      stages.run('hosts', async () => {
        throw failure;
      }),
      (err) => err === failure && (err as Error).cause === failure.cause,
    );
    assert.deepEqual(undone, ['store', 'lock']);
    await stages.unwind();
    assert.deepEqual(undone, ['store', 'lock'], 'each undo runs once');
  });

  it('an undo that fails does not stop the ones before it; the unwind rejects with it', async () => {
    const undone: string[] = [];
    const stages = new Stages(quiet);
    const stuck = new Error('store will not close');
    await stages.run('lock', async () => ({ value: 0, undo: () => void undone.push('lock') }));
    await stages.run('store', async () => ({
      value: 0,
      undo: () => {
        throw stuck;
      },
    }));
    await stages.run('loops', async () => ({ value: 0, undo: () => void undone.push('loops') }));
    await assert.rejects(stages.unwind(), (err) => err === stuck);
    assert.deepEqual(undone, ['loops', 'lock']);
  });

  it('a stage that fails keeps its error even when an undo fails too', async () => {
    const stages = new Stages(quiet);
    const failure = new Error('registry unreadable');
    await stages.run('store', async () => ({
      value: 0,
      undo: () => {
        throw new Error('close failed');
      },
    }));
    await assert.rejects(
      stages.run('registry', async () => {
        throw failure;
      }),
      (err) => err === failure,
    );
  });
});
