/** The CLI for bindings: a manifest next to the code, --kv/--service flags, `procyon secret`. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startNode, type CliResult, type NodeProcess } from './harness.js';

let node: NodeProcess;
let work: string;

/** Runs the CLI with `input` on stdin (piped, not a TTY). */
function cli(args: string[], input = ''): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    PROCYON_CONFIG_DIR: join(work, 'cfg'),
    PROCYON_URL: node.url,
    PROCYON_KEY: node.key,
  };
  return runCli(args, { env, cwd: work, input });
}

describe('CLI: manifests, bindings and secrets', () => {
  before(async () => {
    node = await startNode();
    work = mkdtempSync(join(tmpdir(), 'procyon-cli-bindings-'));
  });
  after(async () => node.stop());

  it('deploys from procyon.toml without arguments; flags override it', async () => {
    writeFileSync(
      join(work, 'app.ts'),
      `export default { async fetch(request: Request, env: Record<string, any>) {
        const n = Number((await env.STORE.get('n')) ?? 0) + 1;
        await env.STORE.put('n', String(n));
        return new Response(env.GREETING + ' ' + n);
      } };\n`,
    );
    writeFileSync(
      join(work, 'procyon.toml'),
      'name = "tomlapp"\nmain = "app.ts"\nroutes = ["GET /tomlapp"]\n\n[vars]\nGREETING = "hey"\n\n[kv]\nSTORE = "toml-store"\n',
    );
    const r = await cli(['deploy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deployed tomlapp/);
    assert.equal(await (await fetch(`${node.url}/tomlapp`)).text(), 'hey 1');
    assert.equal((await cli(['deploy', '--var', 'GREETING=yo'])).code, 0);
    assert.equal(await (await fetch(`${node.url}/tomlapp`)).text(), 'yo 2', 'KV data kept across versions');
    const got = await cli(['get', 'tomlapp', '--json']);
    assert.deepEqual(JSON.parse(got.stdout).kv, { STORE: 'toml-store' });
  });

  it('a malformed manifest is one clear error line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procyon-cli-badmanifest-'));
    writeFileSync(join(dir, 'x.ts'), 'export default { fetch() { return new Response("x"); } };\n');
    writeFileSync(join(dir, 'procyon.json'), '{"main": "x.ts", "memory": "lots"}');
    const r = await cli(['deploy', join(dir, 'x.ts')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /procyon\.json: memory: /);
  });

  it('secret put reads stdin, list shows names only, the function sees the value', async () => {
    writeFileSync(
      join(work, 'sec.js'),
      'export default { fetch(r, env) { return new Response(env.TOKEN === "from-stdin-123" ? "match" : "no"); } };\n',
    );
    assert.equal((await cli(['deploy', join(work, 'sec.js'), '--name', 'sec'])).code, 0);
    const put = await cli(['secret', 'put', 'TOKEN', '--fn', 'sec'], 'from-stdin-123\n');
    assert.equal(put.code, 0, put.stderr);
    assert.equal(await (await fetch(`${node.url}/fn/default/sec`)).text(), 'match');
    const list = await cli(['secret', 'list', '--fn', 'sec']);
    assert.match(list.stdout, /TOKEN/);
    assert.doesNotMatch(list.stdout, /from-stdin/);
    assert.equal((await cli(['secret', 'delete', 'TOKEN', '--fn', 'sec'])).code, 0);
    assert.equal(await (await fetch(`${node.url}/fn/default/sec`)).text(), 'no');
    const missing = await cli(['secret', 'delete', 'TOKEN', '--fn', 'sec']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^procyon: PROCYON_NOT_FOUND: /);
  });

  it('kv put/get/list/delete from the CLI see what functions see; bad input is one line', async () => {
    assert.equal((await cli(['kv', 'put', 'toml-store', 'greeting', 'hello kv'])).code, 0);
    const piped = await cli(['kv', 'put', 'toml-store', 'bytes', '--ttl', '3600'], 'from stdin');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await cli(['kv', 'get', 'toml-store', 'greeting'])).stdout, 'hello kv');
    assert.equal((await cli(['kv', 'get', 'toml-store', 'bytes'])).stdout, 'from stdin');
    assert.deepEqual(JSON.parse((await cli(['kv', 'get', 'toml-store', 'greeting', '--json'])).stdout), {
      kv: 'toml-store',
      key: 'greeting',
      text: 'hello kv',
    });
    // The counter the function wrote earlier in this file is there too.
    const list = JSON.parse((await cli(['kv', 'list', 'toml-store', '--json'])).stdout) as {
      keys: { name: string }[];
    };
    assert.deepEqual(
      list.keys.map((k) => k.name),
      ['bytes', 'greeting', 'n'],
    );
    assert.deepEqual(
      JSON.parse((await cli(['kv', 'list', 'toml-store', '--prefix', 'g', '--json'])).stdout).keys.map(
        (k: { name: string }) => k.name,
      ),
      ['greeting'],
    );
    assert.equal((await cli(['kv', 'delete', 'toml-store', 'greeting'])).code, 0);
    const gone = await cli(['kv', 'get', 'toml-store', 'greeting']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^procyon: PROCYON_NOT_FOUND: /);
    const badTtl = await cli(['kv', 'put', 'toml-store', 'x', 'y', '--ttl', '5']);
    assert.equal(badTtl.code, 1);
    assert.match(badTtl.stderr, /^procyon: PROCYON_VALIDATION: /);
  });
});
