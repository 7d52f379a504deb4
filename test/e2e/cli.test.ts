/**
 * The `procyon` CLI end to end: a real node in its own process (harness.ts) driven by the CLI, run
 * in-process from a scratch folder as a user would run it there (and as bin/procyon.js processes
 * where only a process shows it: exit codes, signals, stdout of the real command). Every test uses its own function names so
 * the order of tests only matters within one test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { runCli, runCliProcess, spawnCli, startNode, type CliResult, type NodeProcess } from './harness.js';

interface Activation {
  id: string;
  function: string;
  version: string;
  status: string;
  logs?: { ts: string; level: string; msg: string }[];
}

let node: NodeProcess;
let work: string;
let env: NodeJS.ProcessEnv;

/** An environment with nothing of the developer's: no profile, no PROCYON_* from the shell. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    PROCYON_CONFIG_DIR: join(work, 'config'),
    PROCYON_DATA_DIR: join(work, 'no-data-dir'),
    ...extra,
  };
}

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env: { ...env, ...extraEnv }, cwd: work });
}

/** Asserts success and returns stdout. */
async function ok(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<string> {
  const r = await cli(args, extraEnv);
  assert.equal(r.code, 0, `procyon ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Asserts failure with `code` and exactly one line on stderr; returns that line. */
async function fails(args: string[], code: number, extraEnv?: NodeJS.ProcessEnv): Promise<string> {
  const r = await cli(args, extraEnv);
  assert.equal(
    r.code,
    code,
    `procyon ${args.join(' ')}: expected exit ${code}, got ${r.code}:\n${r.stderr}${r.stdout}`,
  );
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] ?? '', /^procyon: /);
  return lines[0] ?? '';
}

async function okJson<T>(args: string[]): Promise<T> {
  const out = await ok([...args, '--json']);
  return JSON.parse(out) as T;
}

/** Activations are recorded after the response; poll until `check` passes or 10 s pass. */
async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(
      async () => {
        last = await fn();
        return check(last) ? { value: last } : undefined;
      },
      { what, intervalMs: 100 },
    ).then((hit) => hit.value);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last value:\n${JSON.stringify(last)}`, { cause: err });
  }
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const HELLO = `import { greet } from './greet.js';

interface Env {
  GREETING?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    console.log('hello-log-marker', request.method);
    if (request.method === 'POST') {
      const body = (await request.json()) as { name?: string };
      return new Response(JSON.stringify({ message: greet(env.GREETING ?? 'Hello', body.name ?? 'nobody') }), {
        headers: { 'content-type': 'application/json' },
      });
    }
    return new Response(greet(env.GREETING ?? 'Hello', url.searchParams.get('name') ?? 'world'));
  },
};
`;

const GREET = `export function greet(greeting: string, name: string): string {
  return \`\${greeting}, \${name}!\`;
}
`;

const ECHO = `export async function handler(event: unknown): Promise<{ echo: unknown }> {
  console.log('echo-log-marker', JSON.stringify(event));
  return { echo: event };
}
`;

void before(async () => {
  work = mkdtempSync(join(tmpdir(), 'procyon-e2e-cli-'));
  mkdirSync(join(work, 'home'));
  node = await startNode();
  env = cleanEnv({ PROCYON_URL: node.url, PROCYON_KEY: node.key });
  writeFileSync(join(work, 'greet.ts'), GREET);
  writeFileSync(join(work, 'hello.ts'), HELLO);
  writeFileSync(join(work, 'echo.ts'), ECHO);
});

void after(async () => {
  if (node) {
    const exit = await node.stop();
    assert.equal(exit.code, 0, `node did not drain cleanly:\n${node.output()}`);
  }
  rmSync(work, { recursive: true, force: true });
});

void describe('procyon CLI', () => {
  void it('deploys a TS file with a sibling import and prints URLs that answer', async () => {
    const out = await ok(['deploy', 'hello.ts', '--route', 'GET /e2e-hello', '--var', 'GREETING=Hi']);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^Deployed hello version [0-9a-f]{8} \(new\)$/);
    assert.deepEqual(lines.slice(1), [`${node.url}/fn/default/hello`, `${node.url}/e2e-hello`]);

    const viaFnUrl = await fetch(`${lines[1]}?name=ada`);
    assert.equal(viaFnUrl.status, 200);
    assert.equal(await viaFnUrl.text(), 'Hi, ada!');
    const viaRoute = await fetch(lines[2] ?? '');
    assert.equal(await viaRoute.text(), 'Hi, world!');
  });

  void it('invokes with --data (handler and fetch styles) and prints the body as is', async () => {
    await ok(['deploy', 'echo.ts']);
    const echoed = await ok(['invoke', 'echo', '--data', '{"n":1,"s":"x"}']);
    assert.deepEqual(JSON.parse(echoed), { echo: { n: 1, s: 'x' } });

    const r = await cli(['invoke', 'hello', '--data', '{"name":"ada"}', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { message: 'Hi, ada!' });
    assert.match(r.stderr, /^activation \S+\n$/);

    const fromFile = join(work, 'event.json');
    writeFileSync(fromFile, '[1, 2, 3]');
    assert.deepEqual(JSON.parse(await ok(['invoke', 'echo', '--data-file', fromFile])), { echo: [1, 2, 3] });

    // --json: the body plus what the terminal output leaves out (issue 18 item 5).
    const wrapped = JSON.parse(await ok(['invoke', 'echo', '--data', '"j"', '--json'])) as {
      activationId: string;
      status: number;
      contentType: string;
      text: string;
    };
    assert.match(wrapped.activationId, /^\S+$/);
    assert.equal(wrapped.status, 200);
    assert.match(wrapped.contentType, /json/);
    assert.deepEqual(JSON.parse(wrapped.text), { echo: 'j' });
  });

  void it('rejects invalid --data JSON before sending anything', async () => {
    // The URL is unreachable: a request would fail differently.
    const url = `http://127.0.0.1:${await closedPort()}`;
    const line = await fails(['invoke', 'echo', '--data', '{oops', '--url', url], 1);
    assert.match(line, /^procyon: --data is not valid JSON: /);
  });

  void it('fails an invoke of a missing function with the API error', async () => {
    const line = await fails(['invoke', 'no-such-fn'], 1);
    assert.equal(
      line,
      'procyon: PROCYON_FN_NOT_FOUND: function "no-such-fn" not found in namespace "default"',
    );
  });

  void it('lists, gets and counts versions: changed code adds one, an identical redeploy does not', async () => {
    const file = join(work, 'counter.ts');
    writeFileSync(file, 'export async function handler(): Promise<number> { return 1; }\n');
    assert.match(await ok(['deploy', file]), /^Deployed counter version [0-9a-f]{8} \(new\)\n/);
    assert.match(await ok(['deploy', file]), /^Deployed counter version [0-9a-f]{8} \(unchanged\)\n/);
    writeFileSync(file, 'export async function handler(): Promise<number> { return 2; }\n');
    assert.match(await ok(['deploy', file]), /^Deployed counter version [0-9a-f]{8} \(changed\)\n/);

    const { versions } = await okJson<{ versions: { id: string }[] }>(['versions', 'counter']);
    assert.equal(versions.length, 2);
    const fn = await okJson<{ name: string; latest: string; style: string }>(['get', 'counter']);
    assert.equal(fn.latest, versions[0]?.id, 'latest is the newest version');
    assert.equal(fn.style, 'handler');
    assert.equal(await ok(['invoke', 'counter']), '2');

    const table = await ok(['versions', 'counter']);
    const rows = table.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /VERSION\s+CREATED\s+MEMORY\s+TIMEOUT\s+SIZE\s+ROUTES/);
    assert.equal(rows.length, 3);
    assert.match(rows[1] ?? '', new RegExp(`^\\*\\s+${fn.latest}\\s`));

    const list = await ok(['list']);
    assert.match(list, /^NAME\s+STYLE\s+VERSION/);
    assert.match(
      list,
      new RegExp(`^counter\\s+handler\\s+${fn.latest.slice(0, 8)}\\s+128MB\\s+10000ms`, 'm'),
    );
    const { functions } = await okJson<{ functions: { name: string }[] }>(['list']);
    assert.ok(functions.some((f) => f.name === 'counter'));

    const shown = await ok(['get', 'counter']);
    assert.match(shown, /^name:\s+counter$/m);
    assert.match(shown, new RegExp(`^urls:\\s+${node.url}/fn/default/counter$`, 'm'));
  });

  void it('shows console.log lines in logs, activations and activation', async () => {
    await ok(['deploy', 'echo.ts', '--name', 'logger']);
    await ok(['invoke', 'logger', '--data', '"first"']);
    await ok(['invoke', 'logger', '--data', '"second"']);

    const logs = await eventually(
      () => ok(['logs', 'logger']),
      (out) => out.includes('"second"'),
      'both activations in logs',
    );
    const lines = logs.trimEnd().split('\n');
    assert.equal(lines.length, 2, logs);
    assert.match(
      lines[0] ?? '',
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S{1,8} log +echo-log-marker "first"$/,
    );
    assert.match(lines[1] ?? '', /echo-log-marker "second"$/, 'oldest first');

    const { activations } = await okJson<{ activations: Activation[] }>(['activations', '--fn', 'logger']);
    assert.equal(activations.length, 2);
    assert.ok(activations.every((a) => a.function === 'logger' && a.status === 'success'));

    const table = (await ok(['activations', '--fn', 'logger', '--status', 'success'])).trimEnd().split('\n');
    assert.match(
      table[0] ?? '',
      /^ID\s+FUNCTION\s+VERSION\s+START\s+DURATION\s+BILLED\s+COLD\s+STATUS\s+ERROR$/,
    );
    assert.equal(table.length, 3);
    assert.match(table[1] ?? '', /\slogger\s+[0-9a-f]{8}\s.*\ssuccess\s+-$/);

    const [newest] = activations;
    assert.ok(newest);
    const one = await ok(['activation', newest.id]);
    assert.match(one, new RegExp(`^id:\\s+${newest.id}$`, 'm'));
    assert.match(one, /^ {2}\S+ log {3}echo-log-marker "second"$/m);
    const oneJson = await okJson<Activation>(['activation', newest.id]);
    assert.deepEqual(
      oneJson.logs?.map((l) => l.msg),
      ['echo-log-marker "second"'],
    );

    const errors = await okJson<{ activations: Activation[] }>([
      'activations',
      '--fn',
      'logger',
      '--status',
      'error',
    ]);
    assert.deepEqual(errors.activations, []);
  });

  void it('logs --follow prints new activations and exits 0 on SIGINT', async () => {
    await ok(['deploy', 'echo.ts', '--name', 'follower']);
    // A call before the follower starts: its line shows that the follower is reading (it prints
    // recent activations first), with no guess at how long a node process takes to start.
    await ok(['invoke', 'follower', '--data', '"tail-1"']);
    const proc = spawnCli(['logs', 'follower', '--follow'], { env, cwd: work });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const closed = new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
    try {
      await eventually(
        async () => out,
        (o) => o.includes('"tail-1"'),
        'the first followed line',
      );
      await ok(['invoke', 'follower', '--data', '"tail-2"']);
      await eventually(
        async () => out,
        (o) => o.includes('"tail-2"'),
        'the second followed line',
      );
    } finally {
      proc.kill('SIGINT');
    }
    assert.equal(await closed, 0);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 2, out);
    assert.match(lines[0] ?? '', /"tail-1"$/);
    assert.match(lines[1] ?? '', /"tail-2"$/);
  });

  void it('deletes with --yes only, then get fails with PROCYON_FN_NOT_FOUND', async () => {
    await ok(['deploy', 'echo.ts', '--name', 'doomed']);
    const refused = await fails(['delete', 'doomed'], 2);
    assert.match(refused, /pass --yes/);
    assert.equal((await okJson<{ name: string }>(['get', 'doomed'])).name, 'doomed', 'still there');

    assert.equal(await ok(['delete', 'doomed', '--yes']), 'Deleted doomed\n');
    const line = await fails(['get', 'doomed'], 1);
    assert.equal(line, 'procyon: PROCYON_FN_NOT_FOUND: function "doomed" not found in namespace "default"');
  });

  void it('reports a syntax error as file:line:column without calling the node', async () => {
    mkdirSync(join(work, 'src'), { recursive: true });
    writeFileSync(
      join(work, 'src', 'broken.ts'),
      'export default {\n  fetch() {\n    return 1 +;\n  },\n};\n',
    );
    const url = `http://127.0.0.1:${await closedPort()}`;
    const line = await fails(['deploy', 'src/broken.ts', '--url', url], 1);
    assert.match(line, /^procyon: PROCYON_BUILD_FAILED: src\/broken\.ts:3:\d+: Unexpected ";"$/);
  });

  void it('rejects a Node built-in import at deploy', async () => {
    writeFileSync(
      join(work, 'usesfs.ts'),
      "import { readFileSync } from 'node:fs';\nexport default { fetch: () => new Response(String(readFileSync)) };\n",
    );
    const line = await fails(['deploy', 'usesfs.ts'], 1);
    assert.match(line, /usesfs\.ts:1:\d+: Node built-in module "node:fs" is not available/);
    await fails(['get', 'usesfs'], 1);
  });

  void it('reports a module without a handler as the node says', async () => {
    writeFileSync(join(work, 'nohandler.ts'), 'export const x = 1;\n');
    const line = await fails(['deploy', 'nohandler.ts'], 1);
    assert.match(line, /^procyon: PROCYON_BUILD_FAILED: /);
  });

  void it('explains a bad key', async () => {
    const line = await fails(['list', '--key', 'not-the-key'], 1);
    assert.match(line, /^procyon: PROCYON_UNAUTHORIZED: .+; check --key, PROCYON_KEY or procyon login/);
  });

  void it('explains an unreachable node', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const line = await fails(['list', '--url', url], 1);
    assert.equal(
      line,
      `procyon: cannot reach ${url} (ECONNREFUSED); is the node running? start one with npm start`,
    );
  });

  void it('logs in: verifies, writes a 0600 profile, and later commands use it', async () => {
    const configDir = join(work, 'login-config');
    const base = cleanEnv({ PROCYON_CONFIG_DIR: configDir });
    const bad = await runCli(['login', '--url', node.url, '--key', 'wrong'], { env: base, cwd: work });
    assert.equal(bad.code, 1);
    assert.throws(
      () => statSync(join(configDir, 'profile.json')),
      /ENOENT/,
      'no profile after a failed login',
    );

    const r = await runCli(['login', '--url', node.url, '--key', node.key], { env: base, cwd: work });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Logged in to http:\/\/127\.0\.0\.1:\d+; namespaces: .*default/);
    const profile = join(configDir, 'profile.json');
    assert.equal(statSync(profile).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(profile, 'utf8')), { url: node.url, key: node.key });

    const listed = await runCli(['list', '--json'], { env: base, cwd: work });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(Array.isArray((JSON.parse(listed.stdout) as { functions: unknown[] }).functions));
  });

  void it("uses a local node's admin.key when no key is given", async () => {
    const r = await runCli(['list', '--url', node.url, '--json'], {
      env: cleanEnv({ PROCYON_DATA_DIR: node.dataDir }),
      cwd: work,
    });
    assert.equal(r.code, 0, r.stderr);
    const none = await runCli(['list', '--url', node.url], { env: cleanEnv(), cwd: work });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no API key found; pass --key, set PROCYON_KEY or run procyon login/);
  });

  void it('accepts common options before or after the command', async () => {
    const pre = await ok(['-n', 'default', '--json', 'list']);
    const post = await ok(['list', '-n', 'default', '--json']);
    assert.deepEqual(JSON.parse(pre), JSON.parse(post));
  });

  void it('prints the API JSON for deploy --json', async () => {
    const res = await okJson<{ function: { name: string }; version: { id: string }; changed: boolean }>([
      'deploy',
      'echo.ts',
      '--name',
      'jsonfn',
      '--memory',
      '64',
      '--timeout',
      '2000',
    ]);
    assert.equal(res.function.name, 'jsonfn');
    assert.match(res.version.id, /^[0-9a-f]{16}$/);
    const fn = await okJson<{ memory: number; timeout: number }>(['get', 'jsonfn']);
    assert.deepEqual([fn.memory, fn.timeout], [64, 2000]);
  });

  void it('deploys scaling flags, shows them in get, and refuses bad ones with one line', async () => {
    const deploy = (...flags: string[]): string[] => ['deploy', 'echo.ts', '--name', 'scaled', ...flags];
    const flags = [
      '--concurrency',
      '5',
      '--min-instances',
      '0',
      '--max-instances',
      '4',
      '--keep-alive',
      '30s',
    ];
    assert.match(await ok(deploy(...flags)), /^Deployed scaled version [0-9a-f]{8} \(new\)\n/);
    const fn = await okJson<{ scaling: unknown }>(['get', 'scaled']);
    assert.deepEqual(fn.scaling, { concurrency: 5, minInstances: 0, maxInstances: 4, keepAliveMs: 30_000 });
    assert.match(await ok(['get', 'scaled']), /^scaling:\s+concurrency 5, min 0, max 4, keep-alive 30s$/m);
    const again = [...flags.slice(0, 6), '--keep-alive', '30000'];
    assert.match(await ok(deploy(...again)), /\(unchanged\)/, 'plain ms is the same setting');
    assert.match(await ok(deploy(...flags, '--concurrency', '6')), /\(changed\)/, 'a new version');

    const usage: string[][] = [
      ['--concurrency', '0'],
      ['--concurrency', 'lots'],
      ['--max-instances', '1.5'],
      ['--min-instances', 'none'],
      ['--keep-alive', 'soon'],
      ['--keep-alive', '10 minutes'],
    ];
    for (const bad of usage) assert.match(await fails(deploy(...bad), 2), new RegExp(bad[0] ?? ''));
    const refused: [string[], RegExp][] = [
      [
        ['--concurrency', '1001'],
        /PROCYON_VALIDATION: scaling\.concurrency must be an integer from 1 to 1000/,
      ],
      [['--keep-alive', '500ms'], /scaling\.keepAliveMs must be an integer from 1000 to 86400000, got 500$/],
      [['--keep-alive', '2d'], /scaling\.keepAliveMs .* got 172800000$/],
      [['--min-instances', '3', '--max-instances', '2'], /scaling\.minInstances \(3\) must not be more/],
      [
        ['--min-instances', '9'],
        /more than this node allows per version \(8, PROCYON_MAX_PROCS_PER_VERSION\)/,
      ],
      [
        ['--min-instances', '101', '--max-instances', '200'],
        /scaling\.minInstances must be an integer from 0 to 100/,
      ],
    ];
    for (const [bad, message] of refused) assert.match(await fails(deploy(...bad), 1), message);

    const { versions } = await okJson<{ versions: unknown[] }>(['versions', 'scaled']);
    assert.equal(versions.length, 2, 'no version stored by a refused deploy');
    assert.deepEqual((await okJson<{ scaling: unknown }>(['get', 'scaled'])).scaling, {
      concurrency: 6,
      minInstances: 0,
      maxInstances: 4,
      keepAliveMs: 30_000,
    });
    assert.match(await ok(deploy()), /\(changed\)/, 'a deploy without scaling clears it');
    assert.match(await ok(['get', 'scaled']), /^scaling:\s+node defaults$/m);
  });

  void it("takes scaling from the manifest's table, each flag overriding its field", async () => {
    const dir = join(work, 'scaled-app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.ts'), ECHO);
    writeFileSync(
      join(dir, 'procyon.toml'),
      'name = "tomlscaled"\nmain = "app.ts"\n\n[scaling]\nconcurrency = 3\nkeepAliveMs = 60_000\n',
    );
    const app = join('scaled-app', 'app.ts');
    await ok(['deploy', app]);
    const get = async (): Promise<unknown> =>
      (await okJson<{ scaling: unknown }>(['get', 'tomlscaled'])).scaling;
    assert.deepEqual(await get(), { concurrency: 3, keepAliveMs: 60_000 });
    await ok(['deploy', app, '--keep-alive', '2m', '--max-instances', '5']);
    assert.deepEqual(await get(), { concurrency: 3, maxInstances: 5, keepAliveMs: 120_000 });

    writeFileSync(
      join(dir, 'procyon.toml'),
      'name = "tomlscaled"\nmain = "app.ts"\n[scaling]\nconcurrency = 0\n',
    );
    assert.match(await fails(['deploy', app], 1), /scaling\.concurrency must be/);
    writeFileSync(
      join(dir, 'procyon.toml'),
      'name = "tomlscaled"\nmain = "app.ts"\n[scaling]\nkeep_alive = "1m"\n',
    );
    assert.match(await fails(['deploy', app], 2), /procyon\.toml: scaling: .*keep_alive/);
    assert.deepEqual(await get(), { concurrency: 3, maxInstances: 5, keepAliveMs: 120_000 }, 'unchanged');
  });

  void it('exits 2 on usage errors', async () => {
    await fails(['deploy'], 2);
    await fails(['list', '--bogus'], 2);
    await fails(['deploy', 'echo.ts', '--var', 'no-equals'], 2);
    await fails(['activations', '--status', 'maybe'], 2);
    await fails(['logs', 'x', '--since', 'yesterday'], 2);
  });

  void it('--help works for every command', async () => {
    const commands = [
      'login',
      'deploy',
      'invoke',
      'list',
      'get',
      'versions',
      'delete',
      'activations',
      'activation',
      'logs',
      'serve',
    ];
    const top = await ok(['--help']);
    for (const c of commands) assert.match(top, new RegExp(`^ {2}${c} `, 'm'), `${c} is listed`);
    for (const c of commands) {
      const out = await ok([c, '--help']);
      assert.match(out, new RegExp(`^Usage: procyon ${c} `), c);
    }
  });

  void it('bin/procyon.js runs as its own process: output, exit codes, one error line', async () => {
    const version = await runCliProcess(['--version'], { env: cleanEnv(), cwd: work });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const listed = await runCliProcess(['list', '--json'], { env, cwd: work });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(Array.isArray((JSON.parse(listed.stdout) as { functions: unknown }).functions));
    const usage = await runCliProcess(['list', '--bogus'], { env, cwd: work });
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, "procyon: unknown option '--bogus'\n");
    const missing = await runCliProcess(['get', 'no-such-fn'], { env, cwd: work });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^procyon: .*PROCYON_FN_NOT_FOUND/);
  });
});
