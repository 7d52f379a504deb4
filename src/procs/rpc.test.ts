/**
 * The node operations behind ctx.storage, alarms and env.procs, called as an isolate host calls
 * them (through the RpcRouter, with the calling proc's key): who may use storage, the limits,
 * values kept as structured-clone data, and callers as the callee sees them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { createLogger } from '../logger.js';
import { RpcRouter } from '../sandbox/ops/index.js';
import { SqliteStore } from '../store/index.js';
import { AlarmScheduler } from './alarms.js';
import { instanceOf, MAX_PROC_DEPTH, registerProcOps } from './rpc.js';
import type { Caller, InstanceAddress, ProcessManager } from './types.js';

const A = 'ns/Room@v1#lobby';
const B = 'ns/Room@v2#other';
const FN = 'ns/worker@v7';

async function setup(storageMaxBytes = 1 << 20) {
  const store = await SqliteStore.create(':memory:');
  const router = new RpcRouter();
  const seen: { op: string; to: InstanceAddress; message: unknown; caller: Caller }[] = [];
  const procs: Pick<ProcessManager, 'call' | 'send' | 'fetch'> = {
    call: async (to, message, caller) => {
      seen.push({ op: 'call', to, message, caller });
      return { activationId: 'callee', reply: { echoed: message } };
    },
    send: async (to, message, caller) => {
      seen.push({ op: 'send', to, message, caller });
      return { id: 'msg-1' };
    },
    fetch: async () => ({
      activationId: 'callee',
      response: { status: 200, headers: [], body: Buffer.from('hi') },
    }),
  };
  const depths = new Map([['deep', MAX_PROC_DEPTH]]);
  const alarms = new AlarmScheduler({ store, logger: createLogger('silent'), fire: async () => undefined });
  registerProcOps({
    router,
    store,
    procs: procs as ProcessManager,
    invoker: { depthOf: (id) => depths.get(id) ?? 0 },
    alarms,
    storageMaxBytes,
    maxPayloadBytes: 1024,
  });
  const rpc = (key: string, op: string, ...args: unknown[]) =>
    router.handle({ key, activationId: 'act-1' }, op, args);
  const deepRpc = (key: string, op: string, ...args: unknown[]) =>
    router.handle({ key, activationId: 'deep' }, op, args);
  return { rpc, deepRpc, seen, store, alarms };
}

const codeOf = (err: unknown): string =>
  err instanceof ProcyonError ? err.code : err instanceof Error ? err.name : String(err);

describe('process node operations', () => {
  it('derive the instance from the proc key and refuse storage to anything else', async () => {
    assert.deepEqual(instanceOf(A), { namespace: 'ns', className: 'Room', name: 'lobby' });
    const { rpc } = await setup();
    for (const [op, args] of [
      ['storage.get', [['k']]],
      ['storage.list', [{}]],
      ['storage.write', [[{ put: 'k', value: 1 }]]],
      ['alarm.get', []],
      ['alarm.set', [Date.now() + 60_000]],
      ['alarm.delete', []],
    ] as const) {
      await assert.rejects(rpc(FN, op, ...args), TypeError, op);
    }
  });

  it('keep structured-clone values per instance; deletes say whether the key existed', async () => {
    const { rpc } = await setup();
    const value = { when: new Date(7), tags: new Set(['a']), bytes: new Uint8Array([1, 2]) };
    const wrote = await rpc(A, 'storage.write', [
      { put: 'v', value },
      { put: 'w', value: 2 },
      { delete: 'w' },
      { delete: 'never' },
    ]);
    assert.deepEqual(wrote, [true, true, true, false]);
    const got = (await rpc(A, 'storage.get', ['v', 'w'])) as [string, typeof value][];
    assert.equal(got.length, 1);
    assert.ok(got[0]?.[1].when instanceof Date);
    assert.ok(got[0]?.[1].tags.has('a'));
    assert.deepEqual([...(got[0]?.[1].bytes ?? [])], [1, 2]);
    assert.deepEqual(await rpc(B, 'storage.get', ['v']), [], 'another instance sees its own storage');
    await rpc(A, 'storage.write', [
      { put: 'x:1', value: 1 },
      { put: 'x:2', value: 2 },
    ]);
    const listed = (await rpc(A, 'storage.list', { prefix: 'x:', reverse: true })) as [string, number][];
    assert.deepEqual(listed, [
      ['x:2', 2],
      ['x:1', 1],
    ]);
  });

  it('refuse keys, values and key counts over the limits with PROCYON_STORAGE_LIMIT', async () => {
    const { rpc } = await setup(4096);
    const overKey = 'é'.repeat(1025); // 2,050 bytes of UTF-8 in 1,025 characters
    const attempts: Promise<unknown>[] = [
      rpc(A, 'storage.write', [{ put: overKey, value: 1 }]),
      rpc(A, 'storage.get', [overKey]),
      rpc(A, 'storage.write', [{ put: 'big', value: 'x'.repeat(131_072) }]),
      rpc(
        A,
        'storage.get',
        Array.from({ length: 129 }, (_, i) => `k${i}`),
      ),
      // The instance's total: 4 KB here.
      rpc(A, 'storage.write', [
        { put: 'a', value: 'x'.repeat(3000) },
        { put: 'b', value: 'y'.repeat(3000) },
      ]),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt, (e) => codeOf(e) === 'PROCYON_STORAGE_LIMIT');
    }
    // A key of exactly 2,048 bytes is fine.
    await rpc(B, 'storage.write', [{ put: 'é'.repeat(1024), value: 'x'.repeat(1000) }]);
    assert.deepEqual(await rpc(A, 'storage.get', ['a', 'b', 'big']), [], 'refused writes wrote nothing');
    await assert.rejects(rpc(A, 'storage.write', [{ rename: 'a' }]), TypeError);
    await assert.rejects(rpc(A, 'storage.list', { limit: 0 }), RangeError);
  });

  it('set, read and delete the instance’s alarm', async () => {
    const { rpc, alarms } = await setup();
    const when = Date.now() + 3_600_000;
    assert.equal(await rpc(A, 'alarm.get'), null);
    assert.equal(await rpc(A, 'alarm.set', when), null);
    assert.equal(await rpc(A, 'alarm.get'), when);
    assert.equal(await rpc(B, 'alarm.get'), null);
    await assert.rejects(rpc(A, 'alarm.set', 'soon'), TypeError);
    await rpc(A, 'alarm.delete');
    assert.equal(await rpc(A, 'alarm.get'), null);
    alarms.stop();
  });

  it('tell the callee who calls: a process or a function, with the calling activation and depth', async () => {
    const { rpc, seen } = await setup();
    assert.deepEqual(await rpc(A, 'procs.call', 'Room', 'b', { hi: 1 }), { echoed: { hi: 1 } });
    await rpc(FN, 'procs.send', 'Room', 'b', 'one-way');
    assert.deepEqual(seen, [
      {
        op: 'call',
        to: { namespace: 'ns', className: 'Room', name: 'b' },
        message: { hi: 1 },
        caller: { from: { type: 'process', class: 'Room', name: 'lobby' }, parentId: 'act-1', depth: 1 },
      },
      {
        op: 'send',
        to: { namespace: 'ns', className: 'Room', name: 'b' },
        message: 'one-way',
        caller: { from: { type: 'function', fn: 'worker' }, parentId: 'act-1' },
      },
    ]);
    const response = await rpc(FN, 'procs.fetch', 'Room', 'b', {
      method: 'GET',
      url: 'http://x/',
      headers: [],
    });
    assert.equal((response as { status: number }).status, 200);
  });

  it('bound nested calls and message sizes', async () => {
    const { rpc, deepRpc } = await setup();
    // The calling activation is already MAX_PROC_DEPTH deep.
    await assert.rejects(deepRpc(A, 'procs.call', 'Room', 'b', 1), RangeError);
    await assert.rejects(deepRpc(A, 'procs.fetch', 'Room', 'b', {}), RangeError);
    await assert.rejects(
      rpc(A, 'procs.call', 'Room', 'b', 'x'.repeat(2000)),
      (e) => codeOf(e) === 'PROCYON_PAYLOAD_TOO_LARGE',
    );
    await assert.rejects(
      rpc(A, 'procs.send', 'Room', 'b', 'x'.repeat(2000)),
      (e) => codeOf(e) === 'PROCYON_PAYLOAD_TOO_LARGE',
    );
    await assert.rejects(rpc(A, 'procs.call', 42, 'b', 1), TypeError);
  });
});
