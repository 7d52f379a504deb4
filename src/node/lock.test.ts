/**
 * The data dir lock (RELIABILITY case 28) without starting nodes: a live owner refuses, a dead
 * owner's lock is taken over, release removes only one's own lock. The two-process run is in
 * test/e2e/kill-durability.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { LOCK_FILE, lockDataDir } from './lock.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'procyon-lock-'));

describe('data dir lock', () => {
  it('refuses while another live process holds it, naming its pid and the file', async () => {
    const d = dir();
    // The test runner's parent is alive and is not this process.
    writeFileSync(join(d, LOCK_FILE), `${process.ppid}\n`);
    const err = await lockDataDir(d).catch((e: unknown) => e);
    assert.ok(err instanceof ProcyonError, String(err));
    assert.equal(err.code, 'PROCYON_DATA_DIR_LOCKED');
    assert.match(err.message, new RegExp(`pid ${process.ppid}\\b.*${LOCK_FILE}`));
  });

  it("takes over a dead node's lock and releases only its own", async () => {
    const d = dir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead);
    writeFileSync(join(d, LOCK_FILE), `${dead}\n`);
    const release = await lockDataDir(d);
    assert.equal(readFileSync(join(d, LOCK_FILE), 'utf8'), `${process.pid}\n`);
    await release();
    assert.equal(existsSync(join(d, LOCK_FILE)), false);
    // A lock that another node took over meanwhile is left alone.
    const again = await lockDataDir(d);
    writeFileSync(join(d, LOCK_FILE), `${process.ppid}\n`);
    await again();
    assert.equal(readFileSync(join(d, LOCK_FILE), 'utf8'), `${process.ppid}\n`);
  });
});
