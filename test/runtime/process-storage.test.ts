/**
 * `ctx.storage` in a real isolate against the in-memory node of proc-node.ts: the operations the
 * node sees (coalesced writes, cached reads, lists after pending writes), transactions, limits
 * and failed writes (docs/processes.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withProc, type DispatchResult } from './harness.js';
import { fakeNode, type FakeNode } from './proc-node.js';
import { waitFor } from '../wait.js';

/**
 * A class whose onMessage runs the message as the body of an async function with `s` (the
 * storage) in scope, and returns what it returns: each test writes its storage code inline.
 */
const CLASS = `
export class P {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(from, body) { return new Function('s', 'return (async () => {' + body + '})()')(this.ctx.storage); }
}`;

async function run(node: FakeNode, bodies: string[]): Promise<DispatchResult[]> {
  return withProc(
    CLASS,
    async (proc) => {
      const out: DispatchResult[] = [];
      for (const body of bodies)
        out.push(await proc.dispatch({ type: 'message', from: { type: 'api' }, message: body, reply: true }));
      return out;
    },
    { process: { className: 'P', instance: 'i' }, host: node.host },
  );
}

const value = (r: DispatchResult | undefined): unknown =>
  r?.ok && r.result.type === 'event' ? r.result.value : r;

describe('ctx.storage in the isolate', () => {
  it('reads its own writes at once, from the cache, and keeps a copy of each value', async () => {
    const node = fakeNode();
    const [r] = await run(node, [
      `const v = { n: 1, at: new Date(5), tags: new Set(['x']) };
       s.put('k', v); v.n = 2;
       const a = await s.get('k'); a.n = 3;
       const b = await s.get('k');
       return [a.n, b.n, b.at.getTime(), [...b.tags], await s.get(['k', 'missing'])];`,
    ]);
    assert.deepEqual(value(r), [
      3,
      1,
      5,
      ['x'],
      new Map([['k', { n: 1, at: new Date(5), tags: new Set(['x']) }]]),
    ]);
    assert.deepEqual(node.ops, ['storage.write', 'storage.get'], 'only the unknown key was read');
    assert.deepEqual(node.data.get('k'), { n: 1, at: new Date(5), tags: new Set(['x']) });
  });

  it('reports deletes and answers after deleteAll without asking the node', async () => {
    const node = fakeNode();
    node.data.set('a', 1).set('b', 2).set('c', 3);
    const [r] = await run(node, [
      `const one = await s.delete('a');
       const none = await s.delete('zz');
       const count = await s.delete(['b', 'c', 'zz']);
       await s.put({ d: 4, e: 5 });
       await s.deleteAll();
       return [one, none, count, await s.get('d'), await s.get('never')];`,
    ]);
    assert.deepEqual(value(r), [true, false, 2, undefined, undefined]);
    assert.deepEqual(node.ops, Array(5).fill('storage.write'));
    assert.equal(node.data.size, 0);
  });

  it('lists from the node after sending pending writes, with its options, and caches nothing', async () => {
    const node = fakeNode();
    node.data.set('user:a', 1).set('user:b', 2).set('zoo', 9);
    const [r] = await run(node, [
      `s.put('user:c', 3);
       const all = await s.list({ prefix: 'user:' });
       const some = await s.list({ start: 'user:b', end: 'zoo', reverse: true, limit: 1 });
       await s.get('user:a');
       return [[...all], [...some]];`,
    ]);
    assert.deepEqual(value(r), [
      [
        ['user:a', 1],
        ['user:b', 2],
        ['user:c', 3],
      ],
      [['user:c', 3]],
    ]);
    assert.deepEqual(node.ops, ['storage.write', 'storage.list', 'storage.list', 'storage.get']);
    assert.deepEqual(node.calls[2]?.args, [{ start: 'user:b', end: 'zoo', reverse: true, limit: 1 }]);
  });

  it('commits a transaction as one write, and sends nothing after rollback() or a throw', async () => {
    const node = fakeNode();
    node.data.set('a', 1);
    const [r] = await run(node, [
      `const seen = await s.transaction(async (txn) => {
         await txn.put('a', (await txn.get('a')) + 1);
         await txn.put('b', 10);
         await txn.delete('gone');
         return [await txn.get('a'), [...(await txn.list())]];
       });
       await s.transaction(async (txn) => { await txn.put('a', 100); txn.rollback(); });
       let thrown = null;
       try { await s.transaction(async (txn) => { await txn.put('a', 200); throw new Error('no'); }); }
       catch (e) { thrown = e.message; }
       return [seen, await s.get('a'), thrown];`,
    ]);
    assert.deepEqual(value(r), [
      [
        2,
        [
          ['a', 2],
          ['b', 10],
        ],
      ],
      2,
      'no',
    ]);
    const writes = node.calls.filter((c) => c.op === 'storage.write');
    assert.equal(writes.length, 1);
    assert.deepEqual(writes[0]?.args, [
      [{ put: 'a', value: 2 }, { put: 'b', value: 10 }, { delete: 'gone' }],
    ]);
  });

  it('refuses long keys, too many keys, missing and uncloneable values, with clear errors', async () => {
    const node = fakeNode();
    const [r] = await run(node, [
      `const err = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
       return [
         err(() => s.put('k'.repeat(2049), 1)),
         err(() => s.put('é'.repeat(1025), 1)),
         err(() => s.get(Array.from({ length: 129 }, (_, i) => 'k' + i))),
         err(() => s.put('k', () => 1)),
         err(() => s.put('k', undefined)),
         err(() => s.get(7)),
         (await s.put('k'.repeat(2048), 1), 'ok'),
       ];`,
    ]);
    const errors = value(r) as string[];
    assert.match(errors[0] ?? '', /^RangeError: storage key of 2049 bytes is over the limit of 2048 bytes/);
    assert.match(errors[1] ?? '', /^RangeError: storage key of 2050 bytes/);
    assert.match(errors[2] ?? '', /^RangeError: 129 keys in one call, over the limit of 128/);
    assert.match(errors[3] ?? '', /^DataCloneError: the value for storage key "k" cannot be stored/);
    assert.match(errors[4] ?? '', /^TypeError: put\(\) needs a value/);
    assert.match(errors[5] ?? '', /^TypeError: storage keys must be strings/);
    assert.equal(errors[6], 'ok');
    assert.deepEqual(node.ops, ['storage.write'], 'nothing refused reached the node');
  });

  it('rejects the puts of a failed batch with its code, and reads the key from the node after', async () => {
    const node = fakeNode();
    node.data.set('k', 'old');
    node.fail('storage.write', 'instance storage is full', 'PROCYON_STORAGE_LIMIT');
    const [r] = await run(node, [
      `let code = null;
       try { await s.put('k', 'new'); } catch (e) { code = e.code; }
       return [code, await s.get('k')];`,
    ]);
    assert.deepEqual(value(r), ['PROCYON_STORAGE_LIMIT', 'old']);
    assert.deepEqual(node.ops, ['storage.write', 'storage.get']);
  });

  it('fails the event at the output gate when a write nobody awaited failed', async () => {
    const node = fakeNode();
    node.fail('storage.write', 'instance storage is full', 'PROCYON_STORAGE_LIMIT');
    const [failed, after] = await run(node, [`s.put('k', 1); return 'claimed';`, `return await s.get('k');`]);
    assert.ok(failed && !failed.ok);
    assert.equal(failed.error.code, 'PROCYON_FUNCTION_ERROR');
    assert.match(failed.error.message, /instance storage is full/);
    assert.equal(value(after), null, 'the key was never stored (undefined comes back as null)');
    assert.deepEqual(node.ops, ['storage.write', 'storage.get'], 'the failed key is read from the node');
  });

  it('sets, reads and deletes the alarm; setAlarm refuses what is not a time', async () => {
    const node = fakeNode();
    const [r] = await run(node, [
      `await s.setAlarm(new Date(1_000_000));
       const set = await s.getAlarm();
       await s.setAlarm(2_000_000.4);
       const again = await s.getAlarm();
       await s.deleteAlarm();
       let bad = null;
       try { s.setAlarm('soon'); } catch (e) { bad = e.name; }
       return [set, again, await s.getAlarm(), bad];`,
    ]);
    assert.deepEqual(value(r), [1_000_000, 2_000_000, null, 'TypeError']);
  });

  it('keeps its cache bounded: the least recently used values are read from the node again, written ones never lost', async () => {
    const node = fakeNode();
    node.hold('storage.write');
    const [first, later] = await withProc(
      CLASS,
      async (proc) => {
        const send = (body: string) =>
          proc.dispatch({ type: 'message', from: { type: 'api' }, message: body, reply: true });
        // 12 values of ~2 MiB (as the cache estimates a 1 Mi-character string) pass its 16 MiB.
        const first = send(`const big = 'x'.repeat(1 << 20);
          for (let i = 0; i < 12; i++) s.put('k' + i, big + i);
          return (await s.get('k0')).slice(-2);`);
        await waitFor(() => node.ops.includes('storage.write'), { what: 'the puts to be written' });
        node.release('storage.write');
        const later = await send(`return [(await s.get('k1')).slice(-2), (await s.get('k11')).slice(-2)];`);
        return [await first, later];
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
    assert.equal(value(first), 'x0', 'read from the cache while the write was in flight');
    assert.deepEqual(value(later), ['x1', '11']);
    assert.deepEqual(
      node.ops,
      ['storage.write', 'storage.get'],
      'k1 (least recently used) was evicted once clean, k11 kept',
    );
    assert.deepEqual(node.calls[1]?.args, [['k1']]);
  });
});
