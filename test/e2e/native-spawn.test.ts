/**
 * Long-running procs end to end (docs/native-driver.md): spawn from a native-driver function,
 * wait-start and wait-exit, ps with state, uptime, memory and CPU, the cooperative evict and the
 * kill, output as logs, one activation per run, and named endpoints reachable by name from the
 * same namespace only. Driven through the CLI, as a user would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './harness.js';
import { startTestNode, type TestNode } from './node.js';
import { deployProgram, invoke, program, sandboxMissing } from './native-fixtures.js';
import { waitFor } from '../wait.js';

const skip = sandboxMissing();

/** A key-value server on a port: the kind of proc that publishes an endpoint. */
const SERVER = `import http.server, json, os, signal, sys
store = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"name": os.environ["PROCYON_PROC_NAME"], "path": self.path, "args": sys.argv[1:]}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
def stop(*_):
    print("got SIGTERM, saving and leaving", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
`;

/** Reaches a proc by name through the sandbox's procs proxy. */
const CLIENT = `import os, urllib.request
def handler(event, context):
    proxy = urllib.request.ProxyHandler({"http": os.environ["PROCYON_PROCS_PROXY"]})
    try:
        return {"ok": urllib.request.build_opener(proxy).open("http://" + event["to"] + "/hello", timeout=5).read().decode()}
    except Exception as e:
        return {"error": str(e)}
`;

describe('native driver: long-running procs', { skip }, () => {
  let node: TestNode;
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
      timeoutMs: 60_000,
    });

  before(async () => {
    node = await startTestNode({ nativePool: 0 });
    work = mkdtempSync(join(tmpdir(), 'procyon-spawn-'));
    assert.equal(
      (
        await deployProgram(node, 'kv', 'python3', {
          'server.py': SERVER,
          'app.py': 'def handler(e, c):\n    return 1\n',
        })
      ).status,
      201,
    );
    assert.equal((await deployProgram(node, 'client', 'python3', { 'app.py': CLIENT })).status, 201);
    assert.equal((await node.api('PUT', '/api/v1/namespaces/other', {})).status < 300, true);
    assert.equal(
      (await deployProgram(node, 'client', 'python3', { 'app.py': CLIENT }, { namespace: 'other' })).status,
      201,
    );
  });
  after(() => node.stop());

  test('spawn --wait with a port; ps shows it running; a function reaches it by name; another namespace cannot', async () => {
    const spawned = await cli(
      'native',
      'spawn',
      'kv',
      '--name',
      'kv1',
      '--main',
      'server.py',
      '--port',
      '8080',
      '--wait',
      '--',
      'a',
      'b',
    );
    assert.equal(spawned.code, 0, spawned.stderr);
    assert.match(spawned.stdout, /Spawned kv1 \(running\)/);
    const ps = await cli('native', 'ps');
    assert.match(ps.stdout, /kv1\s+kv\s+running/);
    const info = await node.api('GET', '/api/v1/namespaces/default/ps/kv1');
    assert.equal(info.body.state, 'running');
    assert.ok(info.body.memoryBytes > 0);
    const reached = await invoke(node, 'client', { to: 'kv1' });
    assert.deepEqual(JSON.parse(reached.body.ok as string), {
      name: 'kv1',
      path: '/hello',
      args: ['a', 'b'],
    });
    const elsewhere = await invoke(node, 'client', { to: 'kv1' }, 'other');
    assert.match(String(elsewhere.body.error), /404|Not Found/);
    const dup = await cli('native', 'spawn', 'kv', '--name', 'kv1', '--main', 'server.py', '--port', '8080');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already running/);
  });

  test('evict is cooperative: SIGTERM, the proc leaves by itself, wait-exit reports it, logs and the activation show it', async () => {
    const evict = await cli('native', 'evict', 'kv1', '--grace', '5s');
    assert.equal(evict.code, 0, evict.stderr);
    const waited = await cli('native', 'wait-exit', 'kv1', '--json');
    assert.equal(waited.code, 0, waited.stderr);
    const info = JSON.parse(waited.stdout) as {
      state: string;
      exit: { reason: string; code: number };
      activationId: string;
    };
    assert.equal(info.state, 'exited');
    assert.equal(info.exit.reason, 'evicted');
    assert.equal(info.exit.code, 0);
    const logs = await cli('native', 'logs', 'kv1');
    assert.match(logs.stdout, /listening/);
    assert.match(logs.stdout, /got SIGTERM/);
    const gone = await invoke(node, 'client', { to: 'kv1' });
    assert.match(String(gone.body.error), /404|Not Found/);
    const act = await waitFor(
      async () => {
        const got = await node.api('GET', `/api/v1/namespaces/default/activations/${info.activationId}`);
        return got.status === 200 ? got : undefined;
      },
      { what: "the spawned proc's activation record" },
    );
    assert.equal(act.body.trigger, 'spawn');
    assert.equal(act.body.status, 'success');
  });

  test('a proc that ignores SIGTERM is killed after the grace period; kill is immediate', async () => {
    const stubborn = `import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("stubborn", flush=True)\ntime.sleep(600)\n`;
    // A program that never asks for work deploys (the boot check gives up waiting, not failing).
    assert.equal((await deployProgram(node, 'stub', 'python3', { 'app.py': stubborn })).status, 201);
    assert.equal((await cli('native', 'spawn', 'stub', '--name', 's1', '--wait')).code, 0);
    assert.equal((await cli('native', 'spawn', 'stub', '--name', 's2', '--wait')).code, 0);
    // Running is not yet ignoring SIGTERM: a slow Python start would die of it. It prints once it does.
    await waitFor(async () => (await cli('native', 'logs', 's1')).stdout.includes('stubborn'), {
      what: 's1 to ignore SIGTERM',
    });
    const t0 = Date.now();
    await cli('native', 'evict', 's1', '--grace', '500');
    const waited = await cli('native', 'wait-exit', 's1', '--json');
    assert.ok(waited.stdout, waited.stderr);
    const exit1 = JSON.parse(waited.stdout) as {
      exit: { reason: string; signal: string };
    };
    assert.equal(exit1.exit.reason, 'evicted');
    assert.equal(exit1.exit.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 < 10_000);
    await cli('native', 'kill', 's2');
    const exit2 = await cli('native', 'wait-exit', 's2', '--json');
    assert.equal(JSON.parse(exit2.stdout).exit.reason, 'killed');
    assert.notEqual(exit2.code, 0);
  });

  test('a program that exits on its own: wait-exit returns its status as the CLI exit code', async () => {
    // A program that exits at once is a broken runtime to the boot check: spawn it as --main.
    const job = {
      'app.py': 'def handler(e, c):\n    return 0\n',
      'job.py': 'import sys\nprint("working")\nsys.exit(5)\n',
    };
    assert.equal((await deployProgram(node, 'job', 'python3', job)).status, 201);
    assert.equal((await cli('native', 'spawn', 'job', '--name', 'j1', '--main', 'job.py')).code, 0);
    const r = await cli('native', 'wait-exit', 'j1');
    assert.equal(r.code, 5);
    assert.match(r.stdout, /exited \(code 5\)/);
  });

  test('CLI deploy of a directory and of a manifest entry; get and ls show the runtime; bad flags are one line', async () => {
    const dir = program({
      'app.py': 'def handler(e, c):\n    return {"statusCode": 200, "body": "from the cli"}\n',
    });
    const r = await cli(
      'deploy',
      dir,
      '--name',
      'clipy',
      '--runtime',
      'python3',
      '--handler',
      'app.handler',
      '--route',
      'GET /clipy',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deployed clipy version \w+ \(new\)/);
    assert.equal(await (await fetch(`${node.url}/clipy`)).text(), 'from the cli');
    const again = await cli(
      'deploy',
      dir,
      '--name',
      'clipy',
      '--runtime',
      'python3',
      '--handler',
      'app.handler',
      '--route',
      'GET /clipy',
    );
    assert.match(again.stdout, /\(unchanged\)/, 'the same directory packs to the same artifact');
    const get = await cli('get', 'clipy');
    assert.match(get.stdout, /runtime:\s+python3 \(app\.handler\)/);
    assert.match(get.stdout, /network:\s+none/);
    assert.match((await cli('list')).stdout, /clipy\s+handler \(python3\)/);
    const bad = await cli('deploy', dir, '--name', 'x', '--runtime', 'ruby');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --runtime "ruby"/);
    const manifestDir = program({
      'procyon.json': JSON.stringify({
        name: 'fromjson',
        main: 'code',
        runtime: 'python3',
        handler: 'app.handler',
      }),
      'code/app.py': 'def handler(e, c):\n    return "manifest"\n',
    });
    const m = await runCli(['deploy'], {
      cwd: manifestDir,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        PROCYON_CONFIG_DIR: join(work, 'cfg'),
        PROCYON_URL: node.url,
        PROCYON_KEY: node.key,
      },
    });
    assert.equal(m.code, 0, m.stderr);
    assert.equal((await invoke(node, 'fromjson', {})).body, 'manifest');
  });

  test('bad input: unknown function, an isolate function, bad names, unknown procs', async () => {
    assert.match((await cli('native', 'spawn', 'nope')).stderr, /not found/);
    await node.deploy('iso', 'export default { fetch: () => new Response("x") }');
    assert.match((await cli('native', 'spawn', 'iso')).stderr, /only native-driver functions/);
    assert.match((await cli('native', 'spawn', 'kv', '--name', 'bad name!')).stderr, /invalid/);
    const missing = await cli('native', 'wait-exit', 'ghost');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no long-running proc "ghost"/);
  });
});
