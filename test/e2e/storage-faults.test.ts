/**
 * Issue 11 item 1, RELIABILITY case 19: a node whose data dir is on a full disk (a real 20 MB
 * tmpfs, filled to the last byte) keeps running, answers store-bound work with a coded 503 and no
 * SQLite text, serves what needs no store, reports unhealthy on /healthz, keeps the records it
 * could not write, and recovers by itself once space is freed. Skipped (with the reason) where
 * the machine does not let the test mount a tmpfs (not root, no CAP_SYS_ADMIN); the same
 * behaviour is covered with an injected failing store in src/store/health.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { startTestNode, type TestNode } from './node.js';

const HELLO = `export default { fetch: () => new Response('hi') };`;
/** Each message grows the instance's storage, so a full disk fails its writes. */
const GROWER = `
export class Grower {
  constructor(ctx) { this.ctx = ctx; }
  async onMessage(from, m) {
    const n = (await this.ctx.storage.get('n')) ?? 0;
    await this.ctx.storage.put({ n: n + 1, ['pad-' + n]: 'x'.repeat(m.pad) });
    return n + 1;
  }
}`;

/** Writes `path` until the file system refuses another byte. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Mounts a 20 MB tmpfs; the reason it could not otherwise. */
function mountTmpfs(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]})`;
  }
}

describe('a node on a full disk (tmpfs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-full-'));
  let skip: string | null = null;
  let t: TestNode | undefined;

  before(() => {
    skip = mountTmpfs(dir);
  });
  after(async () => {
    try {
      await t?.stop();
    } finally {
      if (!skip) execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects store-bound work with a coded 503, stays up and unhealthy, and recovers once space is freed', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    t = await startTestNode({ dataDir });
    const node = t;
    assert.equal((await node.deploy('hello', HELLO)).status, 201);
    assert.equal((await node.deploy('Grower', GROWER, { process: { className: 'Grower' } })).status, 201);
    const grower = '/api/v1/namespaces/default/procs/Grower/g';
    assert.equal((await node.api('POST', `${grower}/call`, { message: { pad: 10 } })).status, 200);

    const filler = join(dir, 'filler');
    fill(filler);
    // The burst of the reproduction: storage writes and one-way messages at once.
    const burst = await Promise.all([
      ...Array.from({ length: 30 }, () => node.api('POST', `${grower}/call`, { message: { pad: 20_000 } })),
      ...Array.from({ length: 30 }, () => node.api('POST', `${grower}/send`, { message: { pad: 20_000 } })),
    ]);
    for (const r of burst) {
      assert.doesNotMatch(
        JSON.stringify(r.body),
        /SQLITE|disk is full|database|procyon\.db/i,
        'no SQLite text',
      );
      assert.ok([200, 202, 500, 503].includes(r.status), `status ${r.status}: ${JSON.stringify(r.body)}`);
    }
    const health = await waitFor(
      async () => {
        const res = await fetch(`${node.url}/healthz`);
        if (res.status !== 503) return null;
        return (await res.json()) as { status: string; reason?: string };
      },
      { what: '/healthz to report the full disk' },
    );
    assert.equal(health.status, 'unhealthy');
    assert.match(health.reason ?? '', /^storage: /);

    // New work that needs the store: refused, never accepted and then lost.
    const refused = [
      await node.deploy('hello2', HELLO),
      await node.api('POST', `${grower}/send`, { message: { pad: 1 } }),
      await node.api('PUT', '/api/v1/namespaces/default/kv/cache/values/k', { v: 1 }),
    ];
    for (const r of refused) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'PROCYON_STORAGE_UNAVAILABLE');
      assert.doesNotMatch(r.body.error.message, /SQLITE|disk|database/i);
    }
    // What needs no store is still served; its record waits in memory.
    const hello = await fetch(`${node.url}/fn/default/hello`);
    assert.equal(hello.status, 200);
    assert.equal(await hello.text(), 'hi');
    const activationId = hello.headers.get('x-procyon-activation-id');
    assert.ok(activationId);

    unlinkSync(filler);
    await waitFor(async () => (await fetch(`${node.url}/healthz`)).status === 200, {
      what: '/healthz healthy again once space is back',
    });
    assert.equal((await node.deploy('hello2', HELLO)).status, 201, 'deploys work again');
    assert.equal((await node.api('POST', `${grower}/send`, { message: { pad: 1 } })).status, 202);
    const record = await waitFor(
      async () => {
        const r = await node.api('GET', `/api/v1/namespaces/default/activations/${activationId}`);
        return r.status === 200 && r.body;
      },
      { what: 'the record kept during the outage, written once space was back' },
    );
    assert.equal(record.status, 'success');
  });
});
