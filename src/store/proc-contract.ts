/**
 * The ProcStore contract (process instances' storage, directory and alarms) every Store adapter
 * must pass, next to `storeContract`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ProcKey, Store } from './types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);
const keys = (entries: [string, Uint8Array][]): string[] => entries.map(([k]) => k);
const MAX = 1 << 20;

export function procStoreContract(name: string, create: () => Promise<Store>): void {
  describe(`ProcStore contract: ${name}`, () => {
    let store: Store;
    // Namespaces of this run only, so that adapters on a shared server (PostgreSQL) can run it twice.
    const run = randomUUID().slice(0, 8);
    const [ns, ns2, ns3, nsAlarm] = ['a', 'b', 'c', 'd'].map((x) => `${x}-${run}`) as [
      string,
      string,
      string,
      string,
    ];
    const id: ProcKey = { namespace: ns, className: 'Counter', name: 'alice' };
    after(async () => store?.close());

    it('puts, gets in the order asked, and skips missing keys', async () => {
      store = await create();
      await store.procs.write(
        id,
        [
          { put: 'b', value: bytes('2') },
          { put: 'a', value: bytes('1') },
        ],
        MAX,
      );
      const got = await store.procs.get(id, ['b', 'missing', 'a']);
      assert.deepEqual(keys(got), ['b', 'a']);
      assert.equal(text(got[0]?.[1]), '2');
    });

    it('keeps instances, classes and namespaces apart', async () => {
      const others: ProcKey[] = [
        { ...id, name: 'bob' },
        { ...id, className: 'Other' },
        { ...id, namespace: ns2 },
      ];
      for (const other of others) {
        assert.deepEqual(await store.procs.get(other, ['a']), []);
        await store.procs.write(other, [{ put: 'a', value: bytes('other') }], MAX);
      }
      assert.equal(text((await store.procs.get(id, ['a']))[0]?.[1]), '1');
    });

    it('lists in byte order with prefix, start, end, limit and reverse', async () => {
      const list = { namespace: ns, className: 'Lister', name: 'x' };
      const all = ['a', 'ab', 'abc', 'abd', 'ac', 'b', 'é', '😀', 'ab\u{10FFFF}z'];
      await store.procs.write(
        list,
        all.map((k) => ({ put: k, value: bytes(k) })),
        MAX,
      );
      const sorted = [...all].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(keys(await store.procs.list(list, {})), sorted);
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'ab' })), [
        'ab',
        'abc',
        'abd',
        'ab\u{10FFFF}z',
      ]);
      assert.deepEqual(keys(await store.procs.list(list, { start: 'abc', end: 'b' })), [
        'abc',
        'abd',
        'ab\u{10FFFF}z',
        'ac',
      ]);
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'a', limit: 2, reverse: true })), [
        'ac',
        'ab\u{10FFFF}z',
      ]);
      assert.deepEqual(keys(await store.procs.list(list, { start: 'b' })), ['b', 'é', '😀']);
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'zz' })), []);
      // A prefix ending in the last code point: its upper bound carries into the previous one.
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'ab\u{10FFFF}' })), ['ab\u{10FFFF}z']);
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'ab', start: 'abd' })), [
        'abd',
        'ab\u{10FFFF}z',
      ]);
      assert.deepEqual(keys(await store.procs.list(list, { end: 'abd', reverse: true })), ['abc', 'ab', 'a']);
      assert.deepEqual(keys(await store.procs.list(list, { prefix: 'a', start: 'b' })), []);
      assert.equal(text((await store.procs.list(list, { prefix: '😀' }))[0]?.[1]), '😀');
    });

    it('accounts storage bytes across overwrite, delete and deleteAll', async () => {
      const acc = { namespace: ns, className: 'Acc', name: 'x' };
      const size = async (): Promise<number | undefined> =>
        (await store.procs.getInstance(acc))?.storageBytes;
      await store.procs.write(acc, [{ put: 'k1', value: new Uint8Array(100) }], MAX);
      assert.equal(await size(), 102);
      await store.procs.write(acc, [{ put: 'k1', value: new Uint8Array(10) }], MAX);
      assert.equal(await size(), 12);
      const results = await store.procs.write(
        acc,
        [{ put: 'k2', value: new Uint8Array(5) }, { delete: 'k1' }, { delete: 'nope' }],
        MAX,
      );
      assert.deepEqual(results, [true, true, false]);
      assert.equal(await size(), 7);
      assert.deepEqual(
        await store.procs.write(acc, [{ deleteAll: true }, { put: 'z', value: new Uint8Array(1) }], MAX),
        [true, true],
      );
      assert.equal(await size(), 2);
      // Key bytes are UTF-8 bytes, not UTF-16 code units or code points.
      await store.procs.write(acc, [{ put: 'é😀', value: new Uint8Array(3) }], MAX);
      assert.equal(await size(), 2 + 6 + 3);
    });

    it('refuses a batch over the size limit whole: nothing of it is applied', async () => {
      const lim = { namespace: ns, className: 'Lim', name: 'x' };
      await store.procs.write(lim, [{ put: 'a', value: new Uint8Array(50) }], 100);
      await assert.rejects(
        store.procs.write(
          lim,
          [{ delete: 'a' }, { put: 'b', value: new Uint8Array(60) }, { put: 'c', value: new Uint8Array(60) }],
          100,
        ),
        (err: Error & { code?: string }) => err.code === 'PROCYON_STORAGE_LIMIT',
      );
      assert.deepEqual(keys(await store.procs.list(lim, {})), ['a']);
      assert.equal((await store.procs.getInstance(lim))?.storageBytes, 51);
      // Shrinking is always allowed, even above a limit that was lowered.
      await store.procs.write(lim, [{ put: 'a', value: new Uint8Array(40) }], 10);
      assert.equal((await store.procs.getInstance(lim))?.storageBytes, 41);
    });

    it('tracks instances: touch, get, list, delete', async () => {
      const t = { namespace: ns3, className: 'T', name: 'one' };
      await store.procs.touch(t, 1_000);
      await store.procs.touch(t, 500);
      await store.procs.touch({ ...t, name: 'two' }, 2_000);
      const one = await store.procs.getInstance(t);
      assert.deepEqual(
        [one?.createdAt, one?.lastActiveAt, one?.storageBytes, one?.alarmAt],
        [1_000, 1_000, 0, null],
      );
      await store.procs.touch({ ...t, className: 'S', name: 'zed' }, 3_000);
      await store.procs.setAlarm({ ...t, name: 'two' }, 9_000);
      assert.deepEqual(
        (await store.procs.listInstances(ns3)).map((i) => [i.className, i.name, i.alarmAt]),
        [
          ['S', 'zed', null],
          ['T', 'one', null],
          ['T', 'two', 9_000],
        ],
      );
      assert.deepEqual(
        (await store.procs.listInstances(ns3, 'T')).map((i) => i.name),
        ['one', 'two'],
      );
      assert.deepEqual(await store.procs.listInstances(ns3, 'Nope'), []);
      await store.procs.write(t, [{ put: 'k', value: bytes('v') }], MAX);
      await store.procs.setAlarm(t, 5_000);
      assert.equal(await store.procs.deleteInstance(t), true);
      assert.equal(await store.procs.getInstance(t), undefined);
      assert.deepEqual(await store.procs.get(t, ['k']), []);
      assert.equal(await store.procs.getAlarm(t), null);
      assert.equal(await store.procs.deleteInstance(t), false);
    });

    it('keeps one alarm per instance, listed earliest first', async () => {
      const a = { namespace: nsAlarm, className: 'A', name: 'x' };
      const b = { namespace: nsAlarm, className: 'A', name: 'y' };
      await store.procs.setAlarm(a, 3_000);
      await store.procs.setAlarm(b, 2_000);
      await store.procs.setAlarm(a, 1_000);
      assert.equal(await store.procs.getAlarm(a), 1_000);
      assert.deepEqual(
        (await store.procs.listAlarms()).filter((x) => x.namespace === nsAlarm).map((x) => [x.name, x.at]),
        [
          ['x', 1_000],
          ['y', 2_000],
        ],
      );
      assert.equal((await store.procs.getInstance(a))?.alarmAt, 1_000);
      await store.procs.deleteAlarm(a);
      assert.equal(await store.procs.getAlarm(a), null);
    });

    it('keeps accepted one-way messages, oldest first, until each is deleted', async () => {
      const to = { namespace: nsAlarm, className: 'M', name: 'inbox' };
      const message = (n: number) => ({
        ...to,
        id: `${run}-${n}`,
        from: JSON.stringify({ type: 'api' }),
        parentId: n === 1 ? 'parent' : null,
        message: new Uint8Array([n, 0, 255]),
        // Out of time order on purpose: acceptance order is what counts.
        createdAt: 10 - n,
      });
      const mine = async () => (await store.procs.listMessages()).filter((m) => m.id.startsWith(run));
      for (const n of [1, 2, 3]) await store.procs.enqueueMessage(message(n));
      assert.deepEqual(
        (await mine()).map((m) => ({ ...m, message: [...m.message] })),
        [1, 2, 3].map((n) => ({ ...message(n), message: [n, 0, 255] })),
      );
      await store.procs.deleteMessage(`${run}-2`);
      await store.procs.deleteMessage(`${run}-missing`);
      assert.deepEqual(
        (await mine()).map((m) => m.id),
        [`${run}-1`, `${run}-3`],
      );
    });
  });
}
