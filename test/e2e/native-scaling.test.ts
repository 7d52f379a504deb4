/**
 * Native-driver procs under the shared scheduler: `minInstances` sandboxes are booted before any
 * call, an idle sandbox goes after its keep-alive (scale to zero, its processes and cgroup gone),
 * and the next call starts a new one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from './node.js';
import { deployProgram, invoke, sandboxMissing } from './native-fixtures.js';
import { waitFor } from '../wait.js';

const skip = sandboxMissing();
const CODE = 'import uuid\nBOOT = uuid.uuid4().hex\ndef handler(e, c):\n    return BOOT\n';

/** Sandboxes of this node process now running (bwrap processes whose parent is this process). */
function sandboxes(): number {
  const out = execFileSync('sh', ['-c', `ps -o comm= --ppid ${process.pid} || true`]).toString();
  return out.split('\n').filter((name) => name.trim() === 'bwrap').length;
}

async function activation(node: TestNode, id: string | null): Promise<{ cold: boolean }> {
  return (await node.api('GET', `/api/v1/namespaces/default/activations/${id}`)).body as { cold: boolean };
}

describe('native driver: scaling', { skip }, () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ nativePool: 0, autoscaleTickMs: 100 });
  });
  after(() => node.stop());

  test('minInstances boots a sandbox before the first call, which is then warm', async () => {
    const r = await deployProgram(
      node,
      'warm',
      'python3',
      { 'app.py': CODE },
      { scaling: { minInstances: 1 } },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // Booted and ready (idle), not just started: only then is the first call warm.
    await waitFor(
      () => (node.node.nativeDriver.scheduler.stats().versions.find((v) => v.fn === 'warm')?.idle ?? 0) >= 1,
      { what: 'a warm sandbox before any call', timeoutMs: 30_000 },
    );
    const out = await invoke(node, 'warm', {});
    assert.equal(out.status, 200);
    assert.equal((await activation(node, out.headers.get('x-procyon-activation-id'))).cold, false);
  });

  test('an idle sandbox goes after its keep-alive, and the next call starts a new one', async () => {
    await node.api('DELETE', '/api/v1/namespaces/default/functions/warm');
    // The deleted function's sandbox goes first, so the count below is the idle one's alone.
    await waitFor(() => sandboxes() === 0, { what: "the deleted function's sandbox to go" });
    const r = await deployProgram(
      node,
      'idle',
      'python3',
      { 'app.py': CODE },
      { scaling: { keepAliveMs: 1000 } },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const first = await invoke(node, 'idle', {});
    const again = await invoke(node, 'idle', {});
    assert.equal(again.body, first.body);
    assert.ok(sandboxes() >= 1);
    // Scale to zero: every idle sandbox of the function goes once its keep-alive has passed.
    await waitFor(() => sandboxes() === 0, { what: 'the idle sandboxes to go', timeoutMs: 20_000 });
    const later = await invoke(node, 'idle', {});
    assert.notEqual(later.body, first.body);
    assert.equal((await activation(node, later.headers.get('x-procyon-activation-id'))).cold, true);
  });
});
