/**
 * A start whose last stage fails (its port is taken) leaves nothing behind: the isolate hosts and
 * sandbox processes it started have exited, the store's files are closed, no socket of its own
 * is open, the data-dir lock is released (a second node starts on the same data dir), and the
 * test process keeps no handle of it (this file ends on its own, without a forced exit).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { LOCK_FILE } from '../../src/node/lock.js';
import { ProcyonNode } from '../../src/node/index.js';

/** Pids of this process's children, from every thread's `children` list. */
function children(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) =>
    readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

/** What this process's file descriptors point at (files, `socket:[inode]`, pipes). */
function openFiles(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // the directory's own fd, closed once listed
    }
  });
}

/** Handles and timers that keep this process alive; requests in flight (`FSReqPromise`) end anyway. */
function handles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => !/Req/.test(r))
    .sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a start that fails at its last stage', () => {
  it('undoes every stage before it: no processes, open store, socket, lock or handle remain', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'procyon-e2e-'));
    const config = loadConfig({ host: '127.0.0.1', port, dataDir, logLevel: 'silent', isolateHosts: 2 }, {});
    const socketsBefore = openFiles().filter((f) => f.startsWith('socket:')).length;
    const handlesBefore = handles();
    // The hosts are children only while the start runs: watch for them as it goes.
    const started = new Set<number>();
    const watch = setInterval(() => children().forEach((pid) => started.add(pid)), 5);
    try {
      await assert.rejects(ProcyonNode.start(config, createLogger('silent')), { code: 'EADDRINUSE' });
    } finally {
      clearInterval(watch);
    }

    assert.ok(started.size >= 2, `the isolate hosts were started (saw ${[...started].join(', ')})`);
    assert.deepEqual([...started].filter(alive), [], 'every child the start made has exited');
    assert.deepEqual(children(), []);
    assert.deepEqual(
      openFiles().filter((f) => f.startsWith(dataDir)),
      [],
      'the store (procyon.db and its journal) is closed',
    );
    assert.equal(openFiles().filter((f) => f.startsWith('socket:')).length, socketsBefore, 'no socket left');
    assert.deepEqual(handles(), handlesBefore, 'no handle or timer left');
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'the data-dir lock is released');

    await new Promise<void>((resolve) => taken.close(() => resolve()));
    const second = await ProcyonNode.start({ ...config, port: 0 }, createLogger('silent'));
    try {
      assert.equal(second.state, 'ready');
      assert.equal(second.firstStart, false, 'the first start had created the store');
      assert.equal((await fetch(`${second.url}/healthz`)).status, 200);
    } finally {
      await second.stop();
    }
  });
});
