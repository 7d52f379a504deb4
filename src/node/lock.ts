/**
 * One node per data dir (RELIABILITY case 28): two nodes writing one SQLite file would each keep
 * their own in-memory view (registry, mailboxes, alarms) of a store the other changes under them.
 * The lock is a file created with O_EXCL holding the owner's pid; a lock whose pid is no longer a
 * live process (a node that was SIGKILLed) is stale and taken over. No flock: Node has no binding
 * for it, and a pid check needs no native code. A pid reused by an unrelated process after a crash
 * makes a stale lock look held: the error names the file to remove by hand.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcyonError } from '../errors.js';

export const LOCK_FILE = 'node.lock';

/** Takes the data dir's lock; resolves with the function that releases it. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  // Two tries: the second after removing a stale lock (another starter may win that race).
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return async () => {
        // Only our own lock: a node that took over a lock it thought stale must keep it.
        if ((await ownerOf(path)) === process.pid) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await ownerOf(path);
    // No pid yet: its owner is between creating and writing it (or died right there).
    if (owner === undefined) break;
    // Our own pid: a node of this process that was not stopped (tests); no other process has it.
    if (owner !== process.pid && alive(owner)) {
      throw new ProcyonError(
        'PROCYON_DATA_DIR_LOCKED',
        `another Procyon node (pid ${owner}) is using the data dir ${dataDir}; stop it, or start this one with another --data-dir (if no such node runs, remove ${path})`,
      );
    }
    await unlink(path).catch(() => undefined);
  }
  throw new ProcyonError(
    'PROCYON_DATA_DIR_LOCKED',
    `could not lock the data dir ${dataDir}: another node is starting on it (if none is, remove ${path})`,
  );
}

async function ownerOf(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
