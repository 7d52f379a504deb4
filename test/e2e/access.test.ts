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
});
