import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore, type VersionRecord } from '../store/index.js';
import { Registry } from './index.js';

function version(fn: string, routes: string[], at: number): VersionRecord {
  return {
    namespace: 'default',
    fn,
    id: `v-${fn}`,
    code: 'export default { fetch() { return new Response("x") } }',
    config: { memory: 128, timeout: 1000, routes, vars: {} },
    style: 'fetch',
    createdAt: at,
  };
}

describe('Registry.load', () => {
  it('skips stored routes that no longer parse or clash, and serves the rest', async () => {
    const store = await SqliteStore.create(
      join(mkdtempSync(join(tmpdir(), 'procyon-registry-')), 'db.sqlite'),
    );
    try {
      await store.ensureNamespace('default');
      // Deployed before `/ns` became the namespaces' route prefix: it must not stop the node.
      await store.deploy(version('old', ['GET /ns/legacy', 'GET /kept'], 1));
      await store.deploy(version('other', ['GET /kept', 'GET /mine'], 2));
      const registry = await Registry.load(store, () => Promise.resolve({}));
      assert.equal(registry.match('default', 'GET', '/kept')?.owner.fn, 'old');
      assert.equal(registry.match('default', 'GET', '/mine')?.owner.fn, 'other');
      assert.equal(registry.match('default', 'GET', '/ns/legacy'), undefined);
      assert.equal(registry.skippedRoutes.length, 2);
      assert.match(registry.skippedRoutes.join('\n'), /old "GET \/ns\/legacy"/);
      assert.match(registry.skippedRoutes.join('\n'), /other "GET \/kept"/);
    } finally {
      await store.close();
    }
  });
});
