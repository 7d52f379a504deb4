/** Namespaces and API keys from the CLI: scoped keys, admin-only actions, revocation. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startNode, type NodeProcess } from './harness.js';

let node: NodeProcess;
let home: string;

const cli = (args: string[], key?: string) =>
  runCli(args, {
    env: {
      PATH: process.env.PATH,
      HOME: home,
      PROCYON_CONFIG_DIR: join(home, 'cfg'),
      PROCYON_URL: node.url,
      PROCYON_KEY: key ?? node.key,
    },
  });

describe('CLI: namespaces and API keys', () => {
  before(async () => {
    node = await startNode();
    home = mkdtempSync(join(tmpdir(), 'procyon-access-'));
  });
  after(async () => node.stop());

  it('a namespace key works in its namespace only; admin-only actions refuse it; revoked keys stop working', async () => {
    const created = await cli(['namespace', 'create', 'team-b']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created namespace team-b/);
    assert.match((await cli(['namespace', 'create', 'team-b'])).stdout, /already exists/);

    const made = await cli(['key', 'create', '--for', 'team-b', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { id, key } = JSON.parse(made.stdout) as { id: string; key: string };
    assert.match(key, /^pk_/);

    assert.equal((await cli(['list', '-n', 'team-b'], key)).code, 0);
    const other = await cli(['list', '-n', 'default'], key);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^procyon: PROCYON_FORBIDDEN: /);
    const seen = JSON.parse((await cli(['namespace', 'list', '--json'], key)).stdout) as {
      namespaces: { name: string }[];
    };
    assert.deepEqual(
      seen.namespaces.map((n) => n.name),
      ['team-b'],
    );
    const escalate = await cli(['key', 'create', '--admin'], key);
    assert.equal(escalate.code, 1);
    assert.match(escalate.stderr, /PROCYON_FORBIDDEN/);
    const missing = await cli(['key', 'create', '--for', 'nope']);
    assert.match(missing.stderr, /PROCYON_NAMESPACE_NOT_FOUND/);
    assert.equal((await cli(['key', 'create'])).code, 2, 'one of --for or --admin');

    const listed = JSON.parse((await cli(['key', 'list', '--json'])).stdout) as { keys: { id: string }[] };
    assert.ok(listed.keys.some((k) => k.id === id));
    assert.doesNotMatch(JSON.stringify(listed), /pk_/, 'keys are never listed');
    assert.equal((await cli(['key', 'revoke', id])).code, 0);
    const revoked = await cli(['list', '-n', 'team-b'], key);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /PROCYON_UNAUTHORIZED/);
    assert.equal((await cli(['key', 'revoke', id])).code, 1, 'revoking twice is an error');
  });

  it('top shows the calls of the last interval per function', async () => {
    const dep = await fetch(`${node.url}/api/v1/namespaces/default/functions/toppy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${node.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        code: 'export default { fetch() { return new Response("t"); } };',
        filename: 'toppy.js',
      }),
    });
    assert.equal(dep.status, 201);
    let stop = false;
    const load = (async () => {
      while (!stop) await (await fetch(`${node.url}/fn/default/toppy`)).text();
    })();
    const top = await cli(['top', '--once', '--interval', '1', '--json']);
    stop = true;
    await load;
    assert.equal(top.code, 0, top.stderr);
    const sample = JSON.parse(top.stdout) as {
      functions: { function: string; rps: number; p50Ms: number }[];
    };
    const row = sample.functions.find((f) => f.function === 'default/toppy');
    assert.ok(row && row.rps > 0, top.stdout);
    assert.ok(row.p50Ms > 0);
  });
});
