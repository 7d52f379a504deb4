/**
 * The contract every Store adapter must pass. Adapters call `storeContract(name, create)` from
 * their own test file; PostgreSQL will run the same cases in cluster mode.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ActivationRecord, Store, VersionRecord } from './types.js';

function version(ns: string, fn: string, id: string, at: number): VersionRecord {
  return {
    namespace: ns,
    fn,
    id,
    code: `export default { fetch() { return new Response('${id}') } }`,
    config: { memory: 128, timeout: 1000, routes: [`GET /${fn}`], vars: {} },
    style: 'fetch',
    createdAt: at,
  };
}

function activation(ns: string, fn: string, start: number, status: 'success' | 'error'): ActivationRecord {
  return {
    id: randomUUID(),
    namespace: ns,
    fn,
    version: 'v1',
    trigger: 'http',
    start,
    durationMs: 1.5,
    billedMs: 2,
    memoryMb: 128,
    gbSeconds: 0.00025,
    cpuMs: 0.7,
    cold: status === 'error',
    status,
    errorCode: status === 'error' ? 'PROCYON_TIMEOUT' : null,
    logs: [{ ts: start, level: 'log', msg: `hello ${start}` }],
    logsTruncated: false,
  };
}

export function storeContract(adapter: string, create: () => Promise<Store>): void {
  describe(`Store contract: ${adapter}`, () => {
    let store: Store;
    const ns = `ns-${randomUUID().slice(0, 8)}`;
    after(async () => store?.close());

    it('creates namespaces idempotently', async () => {
      store = await create();
      const first = await store.ensureNamespace(ns);
      const second = await store.ensureNamespace(ns);
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal((await store.getNamespace(ns))?.name, ns);
      assert.ok((await store.listNamespaces()).some((n) => n.name === ns));
    });

    it('finds API keys by hash only', async () => {
      const hash = randomUUID().replaceAll('-', '');
      await store.insertApiKey({ id: randomUUID(), hash, namespace: null, createdAt: 1 });
      assert.equal((await store.findApiKey(hash))?.namespace, null);
      assert.equal(await store.findApiKey('nope'), undefined);
      assert.ok((await store.countApiKeys()) >= 1);
    });

    it('deploys versions and moves latest', async () => {
      const a = await store.deploy(version(ns, 'f', 'v1', 1000));
      assert.deepEqual([a.created, a.changed, a.fn.latest], [true, true, 'v1']);
      const same = await store.deploy(version(ns, 'f', 'v1', 1500));
      assert.deepEqual([same.created, same.changed], [false, false]);
      const b = await store.deploy(version(ns, 'f', 'v2', 2000));
      assert.deepEqual([b.created, b.changed, b.fn.latest], [false, true, 'v2']);
      assert.deepEqual(
        (await store.listVersions(ns, 'f')).map((v) => v.id),
        ['v2', 'v1'],
      );
      const v1 = await store.getVersion(ns, 'f', 'v1');
      assert.deepEqual(v1?.config.routes, ['GET /f']);
      assert.match(v1?.code ?? '', /v1/);
      assert.equal((await store.getFunction(ns, 'f'))?.latest, 'v2');
      assert.deepEqual(
        (await store.listFunctions(ns)).map((f) => f.name),
        ['f'],
      );
    });

    it('deletes a function with its versions', async () => {
      await store.deploy(version(ns, 'gone', 'x', 1));
      assert.equal(await store.deleteFunction(ns, 'gone'), true);
      assert.equal(await store.getFunction(ns, 'gone'), undefined);
      assert.deepEqual(await store.listVersions(ns, 'gone'), []);
      assert.equal(await store.deleteFunction(ns, 'gone'), false);
    });

    it('stores activations and filters them', async () => {
      const records = [
        activation(ns, 'f', 1000, 'success'),
        activation(ns, 'f', 2000, 'error'),
        activation(ns, 'g', 3000, 'success'),
      ];
      await store.insertActivations(records);
      await store.insertActivations(records.slice(0, 1)); // a retried flush must not duplicate
      const all = await store.listActivations({ namespace: ns });
      assert.deepEqual(
        all.map((a) => a.start),
        [3000, 2000, 1000],
      );
      assert.deepEqual(all[0]?.logs, [], 'lists leave logs out');
      assert.equal((await store.listActivations({ namespace: ns, fn: 'f' })).length, 2);
      assert.equal(
        (await store.listActivations({ namespace: ns, status: 'error' }))[0]?.errorCode,
        'PROCYON_TIMEOUT',
      );
      assert.deepEqual(
        (await store.listActivations({ namespace: ns, since: 1500, until: 3000 })).map((a) => a.start),
        [2000],
      );
      assert.equal((await store.listActivations({ namespace: ns, limit: 1 })).length, 1);
      const one = await store.getActivation(ns, records[1]!.id);
      assert.deepEqual(one, records[1]);
      assert.equal(await store.getActivation('other', records[1]!.id), undefined);
    });
  });
}
