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
    parentId: status === 'error' ? 'parent-activation' : null,
    instance: status === 'error' ? 'alice' : null,
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
      const id = (await store.findApiKey(hash))?.id ?? '';
      assert.equal(await store.revokeApiKey(id, 5), true);
      assert.equal(await store.revokeApiKey(id, 6), false, 'revoking twice changes nothing');
      assert.equal(await store.findApiKey(hash), undefined, 'a revoked key no longer authenticates');
      assert.equal((await store.listApiKeys()).find((k) => k.id === id)?.revokedAt, 5);
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
      await store.putSecret({
        namespace: ns,
        fn: 'gone',
        name: 'S',
        sealed: new Uint8Array([1]),
        updatedAt: 1,
      });
      assert.equal(await store.deleteFunction(ns, 'gone'), true);
      assert.deepEqual(await store.listSecrets(ns, 'gone'), [], 'secrets go with the function');
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

    it('stores sealed secrets per function, upserts and deletes them', async () => {
      await store.putSecret({
        namespace: ns,
        fn: 'f',
        name: 'A',
        sealed: new Uint8Array([1, 2]),
        updatedAt: 1,
      });
      await store.putSecret({ namespace: ns, fn: 'f', name: 'A', sealed: new Uint8Array([3]), updatedAt: 2 });
      await store.putSecret({ namespace: ns, fn: 'g', name: 'B', sealed: new Uint8Array([4]), updatedAt: 3 });
      const f = await store.listSecrets(ns, 'f');
      assert.deepEqual(
        f.map((x) => [x.name, [...x.sealed], x.updatedAt]),
        [['A', [3], 2]],
      );
      assert.equal(await store.deleteSecret(ns, 'f', 'A'), true);
      assert.equal(await store.deleteSecret(ns, 'f', 'A'), false);
      assert.deepEqual(await store.listSecrets(ns, 'f'), []);
    });

    it('KV: get, put with metadata and expiry, delete, list by prefix with a cursor', async () => {
      const put = (key: string, value: string, expiresAt: number | null = null) =>
        store.kvPut(ns, 'kv1', {
          key,
          value: new TextEncoder().encode(value),
          metadata: '{"v":1}',
          expiresAt,
        });
      await put('user:1', 'ada');
      await put('user:2', 'bob');
      await put('user:3', 'cy', 5_000);
      await put('other', 'x');
      await put('user:2', 'bobby');
      const got = await store.kvGet(ns, 'kv1', 'user:2', 1_000);
      assert.equal(new TextDecoder().decode(got?.value), 'bobby');
      assert.equal(got?.metadata, '{"v":1}');
      assert.equal(await store.kvGet(ns, 'kv2', 'user:2', 1_000), undefined, 'namespaces are separate');
      assert.ok(await store.kvGet(ns, 'kv1', 'user:3', 4_999));
      assert.equal(await store.kvGet(ns, 'kv1', 'user:3', 5_000), undefined, 'expired entries are invisible');
      const page1 = await store.kvList({ namespace: ns, kv: 'kv1', prefix: 'user:', limit: 2 }, 1_000);
      assert.deepEqual(
        page1.map((e) => e.key),
        ['user:1', 'user:2'],
      );
      const page2 = await store.kvList(
        { namespace: ns, kv: 'kv1', prefix: 'user:', after: 'user:2', limit: 2 },
        1_000,
      );
      assert.deepEqual(
        page2.map((e) => e.key),
        ['user:3'],
      );
      assert.deepEqual(
        (await store.kvList({ namespace: ns, kv: 'kv1', prefix: 'user:', limit: 10 }, 6_000)).map(
          (e) => e.key,
        ),
        ['user:1', 'user:2'],
      );
      assert.equal(await store.kvSweep(6_000), 1);
      await store.kvDelete(ns, 'kv1', 'user:1');
      assert.equal(await store.kvGet(ns, 'kv1', 'user:1', 1_000), undefined);
    });

    it('stores artifacts by hash, once, and gives them back byte for byte', async () => {
      const bytes = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 255]);
      const hash = `h${Date.now()}${Math.random()}`.replace('.', '');
      assert.equal(await store.getArtifact(hash), null);
      await store.putArtifact(hash, 'tar.gz', bytes);
      await store.putArtifact(hash, 'tar.gz', bytes);
      const got = await store.getArtifact(hash);
      assert.equal(got?.format, 'tar.gz');
      assert.deepEqual([...(got?.bytes ?? [])], [...bytes]);
    });
  });
}
