/**
 * The node SIGKILLed with sandboxes running (RELIABILITY: no stray processes): every sandbox dies
 * with it (bubblewrap's --die-with-parent), and the next start on the same data directory sweeps
 * what they left (their cgroups and directories) and serves again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { packDirectory } from '../../src/artifacts/index.js';
import { sandboxRoot } from '../../src/node/native-driver.js';
import { loadConfig } from '../../src/config.js';
import { nodeApi, startNode, type NodeProcess } from './harness.js';
import { program, sandboxMissing } from './native-fixtures.js';
import { waitFor } from '../wait.js';

const skip = sandboxMissing();

/** Processes whose command line mentions `marker`. */
function running(marker: string): number {
  const out = execFileSync('sh', [
    '-c',
    `ps -eo args | grep -F -- "${marker}" | grep -v grep || true`,
  ]).toString();
  return out.split('\n').filter(Boolean).length;
}

describe('native driver: node SIGKILLed', { skip }, () => {
  const nodes: NodeProcess[] = [];
  after(async () => {
    for (const n of nodes) await n.stop();
  });

  test('its sandboxes die with it; a restart sweeps their leftovers and serves', async () => {
    const node = await startNode();
    nodes.push(node);
    const marker = `sleep-marker-${process.pid}-${Date.now()}`;
    const code = {
      'app.py': 'def handler(e, c):\n    return "ok"\n',
      'loop.py': `import subprocess, time\nsubprocess.Popen(["sh", "-c", "sleep 600 # ${marker}"])\ntime.sleep(600)\n`,
    };
    const artifact = (await packDirectory(program(code))).toString('base64');
    const put = await nodeApi(node, 'PUT', '/namespaces/default/functions/loop', {
      runtime: 'python3',
      handler: 'app.handler',
      artifact,
    });
    assert.equal(put.status, 201, await put.text());
    const spawned = await nodeApi(node, 'POST', '/namespaces/default/functions/loop/spawn', {
      name: 'l1',
      main: 'loop.py',
    });
    assert.equal(spawned.status, 201, await spawned.text());
    await waitFor(() => running(marker) > 0, { what: 'the proc and its child to run', timeoutMs: 30_000 });
    assert.equal(running(marker), 1, 'the proc and its child run');
    node.proc.kill('SIGKILL');
    await waitFor(() => running(marker) === 0, {
      what: 'nothing of the sandbox to outlive the node',
      timeoutMs: 30_000,
    });

    const boxes = join(sandboxRoot(loadConfig({ dataDir: node.dataDir }, {})), 'boxes');
    assert.ok(
      existsSync(boxes) && readdirSync(boxes).length > 0,
      'the dead node left its sandbox directories',
    );
    const again = await startNode({ dataDir: node.dataDir });
    nodes.push(again);
    assert.deepEqual(readdirSync(boxes), [], 'swept at start');
    const out = await nodeApi(again, 'POST', '/namespaces/default/functions/loop/invoke', {});
    assert.equal(out.status, 200);
    assert.equal(await out.json(), 'ok');
  });
});
