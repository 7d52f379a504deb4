/**
 * Store faults as callers and /healthz see them (src/store/health.ts), with an injected failing
 * store (a real SQLite store whose operations throw SQLite-shaped errors while `fail` is set) and
 * a real file for deletion. The node-level run on a full tmpfs is test/e2e/storage-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { createLogger } from '../logger.js';
import { waitFor } from '../../test/wait.js';
import { guardStore, StoreHealth } from './health.js';
import { SqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

/** An error as better-sqlite3 throws it: a message with internals and a `SQLITE_*` code. */
function sqliteError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'SqliteError', code });
}

/** A store whose operations (probe included) throw `fail` while it is set. */
function failing(inner: SqliteStore): { store: Store; fail: { error: Error | null } } {
  const fail: { error: Error | null } = { error: null };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const value: unknown = Reflect.get(t, prop, t);
        if (prop === 'procs') return wrap(value as object);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (fail.error) throw fail.error;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        };
      },
    });
  return { store: wrap(inner), fail };
}

const silent = createLogger('silent');
const FULL = sqliteError('SQLITE_FULL', 'database or disk is full: /secret/path/procyon.db');
const CORRUPT = sqliteError('SQLITE_CORRUPT', 'database disk image is malformed');

describe('store faults (guardStore + StoreHealth)', () => {
  for (const error of [FULL, CORRUPT])
    it(`maps ${(error as { code?: string }).code} to a coded 503 without its text, keeps the cause, and turns unhealthy`, async () => {
      const { store: raw, fail } = failing(await SqliteStore.create(':memory:'));
      const health = new StoreHealth({ store: raw, logger: silent, checkEveryMs: 60_000 });
      const store = guardStore(raw, health);
      fail.error = error;
      for (const op of [
        () =>
          store.kvPut('ns', 'kv', { key: 'k', value: new Uint8Array(1), metadata: null, expiresAt: null }),
        () => store.procs.touch({ namespace: 'ns', className: 'C', name: 'n' }, 1),
      ]) {
        const err = await op().catch((e: unknown) => e);
        assert.ok(err instanceof ProcyonError, 'a ProcyonError');
        assert.equal(err.code, 'PROCYON_STORAGE_UNAVAILABLE');
        assert.equal(err.status, 503);
        assert.doesNotMatch(err.message, /SQLITE|disk|secret|malformed/);
        assert.equal(err.cause, error);
      }
      assert.equal(health.state.healthy, false);
      assert.match(health.state.healthy ? '' : health.state.reason, /^SQLITE_(FULL|CORRUPT) in /);
      // Coded errors of the store itself pass through untouched.
      fail.error = new ProcyonError('PROCYON_STORAGE_LIMIT', 'too big');
      await assert.rejects(store.getNamespace('x'), (e) => e === fail.error);
      // A bug (not a SQLite error) is internal, still without its text.
      fail.error = new TypeError('x is not a function');
      await assert.rejects(
        store.getNamespace('x'),
        (e) => e instanceof ProcyonError && e.code === 'PROCYON_INTERNAL' && !/function/.test(e.message),
      );
      health.stop();
    });

  it('recovers only once a probe write succeeds with no fault since the previous probe', async () => {
    const { store: raw, fail } = failing(await SqliteStore.create(':memory:'));
    const health = new StoreHealth({ store: raw, logger: silent, checkEveryMs: 60_000 });
    const store = guardStore(raw, health);
    const healthy = (): boolean => health.state.healthy;
    fail.error = FULL;
    await assert.rejects(store.insertActivations([]));
    await health.check();
    assert.equal(healthy(), false, 'the probe fails while the disk is full');
    fail.error = null;
    await store.getNamespace('default');
    const entry = { key: 'k', value: new Uint8Array(1), metadata: null, expiresAt: null };
    await assert.rejects(
      store.kvPut('ns', 'kv', entry),
      (e) => e instanceof ProcyonError && e.code === 'PROCYON_STORAGE_UNAVAILABLE',
      'new work is refused up front while unhealthy, even if the write might squeeze in',
    );
    await health.check();
    assert.equal(healthy(), true, 'a good probe after a quiet interval: healthy again');
    await store.kvPut('ns', 'kv', entry);
    // Traffic that keeps failing keeps it down even if a probe in between passes.
    fail.error = FULL;
    await assert.rejects(store.listNamespaces());
    fail.error = null;
    await health.check();
    assert.equal(healthy(), false, 'a fault since the last probe');
    await health.check();
    assert.equal(healthy(), true);
    health.stop();
  });

  it('finds a database file deleted under the node: unhealthy for good, every operation refused', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'procyon-health-')), 'procyon.db');
    const raw = await SqliteStore.create(file);
    const health = new StoreHealth({ store: raw, logger: silent, checkEveryMs: 20 });
    const store = guardStore(raw, health);
    await store.ensureNamespace('ns');
    unlinkSync(file);
    await waitFor(() => !health.state.healthy, { what: 'the periodic probe to notice the deletion' });
    assert.match(health.state.healthy ? '' : health.state.reason, /deleted or replaced/);
    const err = await store.ensureNamespace('other').catch((e: unknown) => e);
    assert.ok(
      err instanceof ProcyonError && err.code === 'PROCYON_STORAGE_UNAVAILABLE',
      'a write is refused, not acknowledged',
    );
    health.stop();
    await raw.close();
  });
});
