/**
 * A node killed outright in the middle of `procs.write` must leave each batch whole or absent, and
 * the instance's recorded size must match what survived (docs/processes.md, "Crash"). A child
 * process writes batches in a loop and is SIGKILLed; the test reopens the file and checks. Several
 * rounds on the same file, so a write after a recovery is covered too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProcKey } from '../types.js';
import { SqliteStore } from './index.js';

const BATCH = 200;
const ROUNDS = 3;
const KILL_AFTER_MS = 300;
const id: ProcKey = { namespace: 'crash', className: 'Writer', name: 'w' };
const valueSize = (j: number): number => 40 + (j % 7);

// The child imports the built store by absolute URL, so it runs the same code as this test.
const childScript = `
import { SqliteStore } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
const [file, first] = process.argv.slice(2);
const store = await SqliteStore.create(file);
const id = ${JSON.stringify(id)};
const valueSize = ${valueSize.toString()};
for (let i = Number(first); ; i++) {
  const ops = [];
  for (let j = 0; j < ${BATCH}; j++) ops.push({ put: 'b' + i + '-' + j, value: new Uint8Array(valueSize(j)).fill(i % 256) });
  await store.procs.write(id, ops, 1 << 30);
  // Pipes are synchronous on Linux, so the parent sees this before the next batch starts.
  if (i === Number(first)) process.stdout.write('ready\\n');
}
`;

interface Survivors {
  batches: Map<number, number>;
  bytes: number;
}

async function survivors(store: SqliteStore): Promise<Survivors> {
  const batches = new Map<number, number>();
  let bytes = 0;
  for (const [key, value] of await store.procs.list(id, {})) {
    const m = /^b(\d+)-(\d+)$/.exec(key);
    assert.ok(m, `unexpected key ${key}`);
    const i = Number(m[1]);
    assert.equal(value.byteLength, valueSize(Number(m[2])), `value of ${key} is whole`);
    assert.ok(
      value.every((b) => b === i % 256),
      `value of ${key} holds its batch's bytes`,
    );
    batches.set(i, (batches.get(i) ?? 0) + 1);
    bytes += Buffer.byteLength(key) + value.byteLength;
  }
  return { batches, bytes };
}

/** Runs the writer from batch `first`, kills it KILL_AFTER_MS after its first commit. */
function runAndKill(script: string, file: string, first: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, file, String(first)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let killed = false;
    const noStart = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => {
      clearTimeout(noStart);
      setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, KILL_AFTER_MS);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(noStart);
      if (killed && signal === 'SIGKILL') resolve();
      else reject(new Error(`writer ended on its own (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

describe('SQLite ProcStore: SIGKILL during writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-crash-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves every batch whole or absent, and storage_bytes equal to what is there', async () => {
    const script = join(dir, 'writer.mjs');
    const file = join(dir, 'db.sqlite');
    writeFileSync(script, childScript);
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await runAndKill(script, file, next);
      const store = await SqliteStore.create(file);
      try {
        const { batches, bytes } = await survivors(store);
        for (const [i, n] of batches)
          assert.equal(n, BATCH, `round ${round}: batch ${i} has ${n} of ${BATCH}`);
        // Batches commit in sequence, so the survivors are exactly 0..k-1 and k grew this round.
        const present = [...batches.keys()].sort((a, b) => a - b);
        assert.deepEqual(
          present,
          present.map((_, k) => k),
        );
        assert.ok(present.length > next, `round ${round}: the writer committed something`);
        assert.equal((await store.procs.getInstance(id))?.storageBytes, bytes);
        next = present.length;
      } finally {
        await store.close();
      }
    }
  });
});
