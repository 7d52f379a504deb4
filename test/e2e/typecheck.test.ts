/**
 * Type checking at deploy, end to end: the CLI checks a TypeScript entry before it contacts the
 * node (`--no-check` skips it), and the API checks an uploaded TypeScript source. A type error is
 * `PROCYON_BUILD_FAILED` with file and line, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliResult } from './harness.js';
import { startTestNode, type TestNode } from './node.js';

// Line 3, column 11 is `n` in `const n: number = ...`; the last line holds a second error.
const TYPE_ERROR = `export default {
  fetch(request: Request): Response {
    const n: number = request.url;
    return new Response(String(n));
  },
};
export const second: string = 2;
`;

describe('type checking at deploy', () => {
  let t: TestNode;
  let work: string;

  before(async () => {
    t = await startTestNode();
    work = mkdtempSync(join(tmpdir(), 'procyon-e2e-typecheck-'));
    mkdirSync(join(work, 'home'));
    writeFileSync(join(work, 'typed.ts'), TYPE_ERROR);
  });
  after(async () => {
    await t.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: work,
      env: {
        PATH: process.env.PATH,
        HOME: join(work, 'home'),
        PROCYON_CONFIG_DIR: join(work, 'config'),
        PROCYON_DATA_DIR: join(work, 'no-data-dir'),
        PROCYON_URL: t.url,
        PROCYON_KEY: t.key,
      },
    });
  const getFn = (name: string) => t.api('GET', `/api/v1/namespaces/default/functions/${name}`);

  it('CLI: a type error exits 1 with file:line:column before contacting the node', async () => {
    // An unreachable URL: had the CLI sent anything, it would fail with "cannot reach" instead.
    const r = await cli(['deploy', 'typed.ts', '--url', `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      "procyon: PROCYON_BUILD_FAILED: typed.ts:3:11: Type 'string' is not assignable to type 'number'. (and 1 more error)\n",
    );
    assert.equal(r.stdout, '');
    const against = await cli(['deploy', 'typed.ts']);
    assert.equal(against.code, 1, against.stderr);
    assert.equal((await getFn('typed')).status, 404, 'nothing deployed');
  });

  it('CLI: --no-check deploys it anyway', async () => {
    const r = await cli(['deploy', 'typed.ts', '--no-check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Deployed typed version [0-9a-f]{8} \(new\)\n/);
    const res = await fetch(`${t.url}/fn/default/typed/path`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `${t.url}/fn/default/typed/path`);
  });

  it('API: a TypeScript source with a type error is 400 with details, and nothing is stored', async () => {
    const res = await t.api('PUT', '/api/v1/namespaces/default/functions/apityped', {
      code: TYPE_ERROR,
      filename: 'x.ts',
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'PROCYON_BUILD_FAILED');
    assert.equal(
      res.body.error.message,
      "x.ts:3:11: Type 'string' is not assignable to type 'number'. (and 1 more error)",
    );
    assert.deepEqual(res.body.error.details, { file: 'x.ts', line: 3, column: 11 });
    assert.equal((await getFn('apityped')).status, 404);

    const fixed = TYPE_ERROR.replace('const n: number', 'const n: string').replace(': string = 2', ' = 2');
    const ok = await t.api('PUT', '/api/v1/namespaces/default/functions/apityped', {
      code: fixed,
      filename: 'x.ts',
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
