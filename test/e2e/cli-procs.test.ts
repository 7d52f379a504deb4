/** The CLI for stateful processes: `deploy --process`, a manifest's `process`, `procyon proc ...`. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startNode, type NodeProcess } from './harness.js';

const TALLY = `export class Tally {
  constructor(private ctx: { storage: { get(k: string): Promise<unknown>; put(k: string, v: unknown): Promise<void> } }) {}
  async onMessage(_from: unknown, message: { add?: number }): Promise<{ total: number }> {
    const total = (((await this.ctx.storage.get('total')) as number | undefined) ?? 0) + (message.add ?? 0);
    await this.ctx.storage.put('total', total);
    return { total };
  }
}
`;

describe('CLI: process classes and instances', () => {
  let node: NodeProcess;
  let work: string;
  const cli = (...args: string[]) =>
    runCli(args, {
      cwd: work,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        PROCYON_CONFIG_DIR: join(work, 'cfg'),
        PROCYON_URL: node.url,
        PROCYON_KEY: node.key,
      },
    });

  before(async () => {
    node = await startNode();
    work = mkdtempSync(join(tmpdir(), 'procyon-cli-procs-'));
    writeFileSync(join(work, 'tally.ts'), TALLY);
  });
  after(async () => node.stop());

  it('deploys a class with --process and prints where its instances are', async () => {
    const r = await cli('deploy', 'tally.ts', '--process', 'Tally');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deployed Tally/);
    assert.match(r.stdout, /\/p\/default\/Tally\/<name>/);
  });

  it('--name gives the class another deployed name, which must be a class name too', async () => {
    const r = await cli('deploy', 'tally.ts', '--process', 'Tally', '--name', 'Tally2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deployed Tally2/);
    assert.match(r.stdout, /\/p\/default\/Tally2\/<name>/);
    assert.deepEqual(JSON.parse((await cli('proc', 'call', 'Tally2', 'x', '{"add":4}')).stdout), {
      total: 4,
    });
    const lower = await cli('deploy', 'tally.ts', '--process', 'Tally', '--name', 'tally-two');
    assert.equal(lower.code, 2);
    assert.match(lower.stderr, /invalid process class name "tally-two"/);
  });

  it('calls, sends, lists, shows, evicts and deletes instances', async () => {
    const called = await cli('proc', 'call', 'Tally', 'a', '{"add":2}');
    assert.equal(called.code, 0, called.stderr);
    assert.deepEqual(JSON.parse(called.stdout), { total: 2 });
    assert.equal((await cli('proc', 'send', 'Tally', 'b', '{"add":1}')).code, 0);
    const ls = await cli('proc', 'ls', '--json');
    const names = (JSON.parse(ls.stdout) as { procs: { name: string }[] }).procs.map((p) => p.name);
    assert.ok(names.includes('a'));
    const table = await cli('proc', 'ls', '--class', 'Tally');
    assert.match(table.stdout, /^CLASS\s+NAME\s+STATE\s+LAST-ACTIVE\s+STORAGE\s+MEMORY\s+ALARM\n/);
    assert.match(table.stdout, /Tally\s+a\s+active/);
    assert.match((await cli('proc', 'get', 'Tally', 'a')).stdout, /storage:/);
    assert.match((await cli('proc', 'evict', 'Tally', 'a')).stdout, /Evicted Tally\/a/);
    assert.match((await cli('proc', 'ls', '--class', 'Tally')).stdout, /Tally\s+a\s+swapped/);
    assert.deepEqual(JSON.parse((await cli('proc', 'call', 'Tally', 'a', '{"add":1}')).stdout), { total: 3 });
    assert.equal((await cli('proc', 'delete', 'Tally', 'a')).code, 0);
    const gone = await cli('proc', 'get', 'Tally', 'a');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /PROCYON_PROC_NOT_FOUND/);
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const badJson = await cli('proc', 'call', 'Tally', 'a', '{nope');
    assert.equal(badJson.code, 2);
    assert.equal(badJson.stderr.trim().split('\n').length, 1);
    const badName = await cli('proc', 'call', 'Tally', 'no/slash', '{}');
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /PROCYON_VALIDATION/);
    const badClass = await cli('deploy', 'tally.ts', '--process', 'not-a-class');
    assert.equal(badClass.code, 2);
    const missing = await cli('deploy', 'tally.ts', '--process', 'Other');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /export the process class Other/);
  });

  it('deploys a class from a manifest "process" field', async () => {
    writeFileSync(join(work, 'procyon.json'), JSON.stringify({ main: 'tally.ts', process: 'Tally' }));
    const r = await cli('deploy');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deployed Tally/);
  });

  it('names each concept once: `proc` for instances, `native` for long-running procs', async () => {
    const help = (await cli('proc', '--help')).stdout;
    assert.doesNotMatch(help, /\b(spawn|ps|wait-exit)\b/);
    assert.match(
      (await cli('native', '--help')).stdout,
      /spawn[\s\S]*ps[\s\S]*wait-exit[\s\S]*evict[\s\S]*kill/,
    );
    const ps = await cli('native', 'ps', '--json');
    assert.equal(ps.code, 0, ps.stderr);
    assert.deepEqual(JSON.parse(ps.stdout), { procs: [] });
    assert.equal(ps.stderr, '');
  });

  it('keeps the old spellings for one release, with a one-line note on stderr only', async () => {
    const ps = await cli('proc', 'ps', '--json');
    assert.equal(ps.code, 0, ps.stderr);
    assert.deepEqual(JSON.parse(ps.stdout), { procs: [] });
    assert.equal(ps.stderr, 'procyon: note: "procyon proc ps" is deprecated; use "procyon native ps"\n');
    // One argument: the old `proc evict <long-running proc>`, which goes to the long-running procs' API.
    const evict = await cli('proc', 'evict', 'ghost', '--grace', '1s');
    assert.equal(evict.code, 1);
    const lines = evict.stderr.trim().split('\n');
    assert.equal(
      lines[0],
      'procyon: note: "procyon proc evict <proc>" is deprecated; use "procyon native evict <proc>"',
    );
    assert.match(lines[1] ?? '', /PROCYON_PROC_NOT_FOUND: no long-running proc "ghost"/);
  });
});
