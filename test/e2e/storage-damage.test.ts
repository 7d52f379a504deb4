/**
 * RELIABILITY case 21: the data dir's database deleted while the node runs, or damaged when it
 * starts. Deleted: the node notices within its probe interval, reports unhealthy with the reason,
 * and refuses new work with a coded 503 instead of acknowledging writes into the unlinked file;
 * it keeps serving calls. Damaged at start: `procyon serve` stops with one line naming the file
 * and the fix. (Damage found while running is the injected SQLITE_CORRUPT of
 * src/store/health.test.ts.)
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { startNode } from './harness.js';
import { startTestNode } from './node.js';

const HELLO = `export default { fetch: () => new Response('hi') };`;

describe('a damaged or deleted database', () => {
  it('deleted while running: unhealthy with the reason, new work refused (503), calls still served', async () => {
    const t = await startTestNode();
    try {
      assert.equal((await t.deploy('hello', HELLO)).status, 201);
      const db = join(t.node.config.dataDir, 'procyon.db');
      for (const file of [db, `${db}-wal`, `${db}-shm`]) unlinkSync(file);
      const health = await waitFor(
        async () => {
          const res = await fetch(`${t.url}/healthz`);
          return res.status === 503 ? ((await res.json()) as { status: string; reason: string }) : null;
        },
        { what: 'the node to notice its database is gone' },
      );
      assert.deepEqual(health, { status: 'unhealthy', reason: 'storage: database file deleted or replaced' });
      const deploy = await t.deploy('hello2', HELLO);
      assert.equal(deploy.status, 503, 'not acknowledged into a file that is gone');
      assert.equal(deploy.body.error.code, 'PROCYON_STORAGE_UNAVAILABLE');
      assert.doesNotMatch(deploy.body.error.message, /procyon\.db|SQLITE/);
      const hello = await fetch(`${t.url}/fn/default/hello`);
      assert.equal(await hello.text(), 'hi');
    } finally {
      await t.stop();
    }
  });

  it('damaged at start: the node refuses to start with one line naming the file and the fix', async () => {
    const first = await startNode();
    assert.equal((await first.stop()).code, 0);
    const db = join(first.dataDir, 'procyon.db');
    // Garbage over the header, as a bad disk block or a stray `dd` leaves it.
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 0);
    closeSync(fd);
    const err = await startNode({ dataDir: first.dataDir }).then(
      () => assert.fail('the node started on a damaged database'),
      (e: unknown) => String(e),
    );
    const line = err.split('\n').find((l) => l.startsWith('procyon: '));
    assert.ok(line, err);
    assert.match(line, /cannot open the database .*procyon\.db .*restore it from a backup/);
  });
});
