/**
 * Native-driver limits and escape probes end to end (RELIABILITY.md cases 3-6 and 12): a memory
 * bomb, a fork bomb, a flood of output, a full /tmp, and a program trying to reach what it must
 * not (the host's processes and files, the node's data, the metadata address, the node's services,
 * ptrace, mount, a nested user namespace). Each runs in a real sandbox; the node must come out of each unharmed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sandboxRoot } from '../../src/node/native-driver.js';
import { waitFor } from '../wait.js';
import { startTestNode, type TestNode } from './node.js';
import { deployProgram, invoke, sandboxMissing } from './native-fixtures.js';

const skip = sandboxMissing();

/** Runs the event's `code` (Python) and returns what it left in `out`. */
const RUNNER = `import os, socket, subprocess, sys
def handler(event, context):
    scope = {"out": None, "os": os, "socket": socket, "subprocess": subprocess}
    exec(event["code"], scope)
    return {"out": scope["out"]}
`;

/** Tries `fn`; `out` is "ok" or the error's class and text. */
const TRY = `
def attempt(fn):
    try:
        return ["ok", fn()]
    except Exception as e:
        return [type(e).__name__, str(e)]
`;

const MARKER = 'PROCYON_TEST_SECRET_MARKER';

/** Whether the installed bubblewrap can block nested user namespaces. */
const bwrapDisablesUserns = (): boolean =>
  execFileSync('bwrap', ['--help']).toString().includes('--disable-userns');

/** This machine's first non-loopback IPv4 address. */
const hostIp =
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';

describe('native driver: limits and escape probes', { skip }, () => {
  let node: TestNode;
  let target: Server;
  let targetPort = 0;
  let hits = 0;
  const run = async (code: string, fn = 'runner') => (await invoke(node, fn, { code: TRY + code })).body;

  before(async () => {
    process.env[MARKER] = 'do-not-leak';
    node = await startTestNode({ nativePool: 0, nativeTmpBytes: 16 * 2 ** 20 });
    writeFileSync(join(node.node.config.dataDir, 'secret.txt'), 'node data');
    target = createServer((_req, res) => {
      hits++;
      res.end('target says hi');
    });
    // Not on loopback: inside a sandbox 127.0.0.1 is the sandbox itself (and NO_PROXY), so a
    // program reaches this machine's services by its address, through the proxy.
    await new Promise<void>((resolve) => target.listen(0, '0.0.0.0', resolve));
    targetPort = (target.address() as AddressInfo).port;
    const ok = await deployProgram(
      node,
      'runner',
      'python3',
      { 'app.py': RUNNER },
      { memory: 64, timeout: 5000 },
    );
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const net = await deployProgram(
      node,
      'netrunner',
      'python3',
      { 'app.py': RUNNER },
      {
        memory: 64,
        timeout: 5000,
        network: true,
        egress: { allow: [`${hostIp}:${targetPort}`] },
      },
    );
    assert.equal(net.status, 201, JSON.stringify(net.body));
  });
  after(async () => {
    delete process.env[MARKER];
    target.close();
    await node.stop();
  });

  test('memory bomb: the cgroup OOM kill is PROCYON_MEMORY_LIMIT; the next call works', async () => {
    const r = await invoke(node, 'runner', {
      code: 'b = []\nwhile True:\n    b.append(bytearray(8 * 1024 * 1024))',
    });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'PROCYON_MEMORY_LIMIT');
    assert.deepEqual((await run('out = 1 + 1')).out, 2);
  });

  test('fork bomb: capped by the pids limit, and nothing of it is left afterwards', async () => {
    // A duration no other program on this (shared) machine sleeps for: the leftovers are ours.
    const nap = `300.${randomInt(1e9)}`;
    const r = await run(`
import time
kids = 0
err = None
for _ in range(500):
    try:
        subprocess.Popen(["sleep", "${nap}"])
        kids += 1
    except OSError as e:
        err = str(e)
        break
out = [kids, err]`);
    const [kids, err] = r.out as [number, string | null];
    assert.ok(kids < 64, `forked ${kids}`);
    assert.match(String(err), /Resource temporarily unavailable|Errno 11/);
    // The sandbox is killed with its timeout-less leftovers when it is recycled; force that now.
    await node.api('DELETE', '/api/v1/namespaces/default/functions/runner');
    const count = (): number =>
      execFileSync('ps', ['-eo', 'args'])
        .toString()
        .split('\n')
        .filter((line) => line.trim() === `sleep ${nap}`).length;
    await waitFor(() => count() === 0, { what: 'the forked sleeps to be gone' });
    assert.equal(
      (await deployProgram(node, 'runner', 'python3', { 'app.py': RUNNER }, { memory: 64, timeout: 5000 }))
        .status,
      201,
    );
  });

  test('a flood of output: logs capped with a marker, the call bounded by its timeout, the node fine', async () => {
    const t0 = Date.now();
    const r = await invoke(node, 'runner', {
      code: 'import sys\nwhile True:\n    sys.stdout.write("x" * 4096 + "\\n")',
    });
    assert.equal(r.body.error.code, 'PROCYON_TIMEOUT');
    assert.ok(Date.now() - t0 < 15_000);
    const act = await node.api(
      'GET',
      `/api/v1/namespaces/default/activations/${r.headers.get('x-procyon-activation-id')}`,
    );
    assert.equal(act.body.logsTruncated, true);
    const size = (act.body.logs as { msg: string }[]).reduce((n, l) => n + l.msg.length, 0);
    assert.ok(size < 256 * 1024, `kept ${size} bytes of logs`);
    assert.equal((await run('out = "still here"')).out, 'still here');
  });

  test('filling /tmp: ENOSPC inside the sandbox, the host untouched', async () => {
    const r = await run(`
def fill():
    with open("/tmp/big", "wb") as f:
        while True:
            f.write(b"x" * 1024 * 1024)
out = attempt(fill)`);
    assert.equal(r.out[0], 'OSError');
    assert.match(r.out[1], /No space left on device/);
  });

  test('fd exhaustion: EMFILE inside the sandbox, the next call fine', async () => {
    const r = await run(`
files = []
def exhaust():
    while True:
        files.append(open("/dev/null"))
out = attempt(exhaust)
out.append(len(files))
for f in files:
    f.close()`);
    assert.equal(r.out[0], 'OSError');
    assert.match(r.out[1], /Too many open files/);
    assert.ok((r.out[2] as number) > 100);
    assert.equal((await run('out = "fine"')).out, 'fine');
  });

  test('escape probes all fail', async () => {
    const r = await run(`
def environ():
    return open("/proc/1/environ").read()
def others():
    return os.listdir("/proc")
out = {
  "uid": os.getuid(),
  "environ": attempt(environ),
  "procs": sorted(p for p in os.listdir("/proc") if p.isdigit()),
  "data": attempt(lambda: open(${JSON.stringify(join(node.node.config.dataDir, 'secret.txt'))}).read()),
  "root": sorted(os.listdir("/")),
  "boxes": attempt(lambda: os.listdir(${JSON.stringify(sandboxRoot(node.node.config))})),
  "metadata": attempt(lambda: socket.create_connection(("169.254.169.254", 80), timeout=2).close()),
  "nats": attempt(lambda: socket.create_connection(("127.0.0.1", 4222), timeout=2).close()),
  "postgres": attempt(lambda: socket.create_connection(("127.0.0.1", 5432), timeout=2).close()),
  "target": attempt(lambda: socket.create_connection(("${hostIp}", ${targetPort}), timeout=2).close()),
  "mount": subprocess.run(["mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True).returncode,
  "unshare": subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode,
  "task": attempt(lambda: open("/var/task/new", "w")),
  "usr": attempt(lambda: open("/usr/evil", "w")),
}
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
# The node's own process: invisible from the sandbox's pid namespace, so it cannot be traced.
out["ptrace"] = [libc.ptrace(16, ${process.pid}, 0, 0), ctypes.get_errno()]
# CLONE_NEWUSER straight through the syscall, in case the unshare tool is missing.
out["userns"] = [libc.unshare(0x10000000), ctypes.get_errno()]`);
    const o = r.out as Record<string, unknown>;
    assert.notEqual(o.uid, 0);
    assert.ok(!JSON.stringify(o.environ).includes('do-not-leak'), 'the node environment leaked');
    // Only the sandbox's own processes are visible.
    assert.ok((o.procs as string[]).length < 10, JSON.stringify(o.procs));
    assert.equal((o.data as string[])[0], 'FileNotFoundError');
    // Other sandboxes' directories (and the unpacked code of other functions) are not there.
    assert.equal((o.boxes as string[])[0], 'FileNotFoundError');
    assert.ok(
      !(o.root as string[]).includes('work') && !(o.root as string[]).includes('root'),
      JSON.stringify(o.root),
    );
    for (const k of ['metadata', 'nats', 'postgres', 'target'])
      assert.notEqual((o[k] as string[])[0], 'ok', `${k} reachable`);
    assert.notEqual(o.mount, 0);
    assert.notEqual((o.task as string[])[0], 'ok');
    assert.notEqual((o.usr as string[])[0], 'ok');
    assert.equal((o.ptrace as number[])[0], -1);
    // bubblewrap here has --disable-userns (0.8+), so the node must use it: no nested user namespace.
    if (bwrapDisablesUserns()) {
      assert.equal(node.node.nativeDriver.layers.noNestedUserns, true);
      assert.notEqual(o.unshare, 0);
      assert.equal((o.userns as number[])[0], -1, JSON.stringify(o.userns));
    }
    assert.equal(hits, 0);
  });

  test('egress: only with network, only through the policy', async () => {
    const fetchVia = `
import urllib.request
def get(url):
    return urllib.request.urlopen(url, timeout=3).read().decode()
`;
    const allowed = await run(
      `${fetchVia}\nout = attempt(lambda: get("http://${hostIp}:${targetPort}/"))`,
      'netrunner',
    );
    assert.deepEqual(allowed.out, ['ok', 'target says hi']);
    assert.equal(hits, 1);
    const denied = await run(
      `${fetchVia}\nout = attempt(lambda: get("http://169.254.169.254/latest/meta-data/"))`,
      'netrunner',
    );
    assert.notEqual(denied.out[0], 'ok');
    const nats = await run(`${fetchVia}\nout = attempt(lambda: get("http://127.0.0.1:4222/"))`, 'netrunner');
    assert.notEqual(nats.out[0], 'ok');
    // Without network there is no proxy to go through.
    const none = await run(`${fetchVia}\nout = attempt(lambda: get("http://${hostIp}:${targetPort}/"))`);
    assert.notEqual(none.out[0], 'ok');
    assert.equal(hits, 1);
  });
});
