/**
 * A node as its own process: first start (admin key, examples), graceful SIGTERM with a call in
 * flight (it finishes, its record is written, exit 0), and a restart that keeps everything.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startNode } from './harness.js';
import { json } from './node.js';
import { waitFor } from '../wait.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

describe('node lifecycle', () => {
  it('first start: admin key file 0600, examples deployed and answering, URLs printed', async () => {
    const node = await startNode({ args: ['--examples', EXAMPLES] });
    try {
      assert.equal(statSync(join(node.dataDir, 'admin.key')).mode & 0o777, 0o600);
      assert.match(node.output(), new RegExp(`${node.key}`), 'the plain key is printed once');
      const hello = await fetch(`${node.url}/hello?name=ci`);
      assert.equal(hello.status, 200);
      assert.equal(await hello.text(), 'Hello, ci!\n');
      const greet = await fetch(`${node.url}/greet/ada`);
      assert.equal((await json(greet)).message, 'Hi ada');
      assert.match(node.output(), new RegExp(`${node.url}/hello`));
    } finally {
      assert.equal((await node.stop()).code, 0);
    }
  });

  it('SIGTERM drains the in-flight call, writes its record, exits 0; a restart keeps state', async () => {
    const first = await startNode();
    const auth = { authorization: `Bearer ${first.key}`, 'content-type': 'application/json' };
    const code = `export default { fetch() { const end = Date.now() + 1500; while (Date.now() < end) {} return new Response('finished'); } };`;
    const dep = await fetch(`${first.url}/api/v1/namespaces/default/functions/slow`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ code, routes: ['GET /slow'] }),
    });
    assert.equal(dep.status, 201);
    const inflight = fetch(`${first.url}/slow`);
    // SIGTERM once the call is running (the node's own metrics say so), not after a guessed delay.
    await waitFor(
      async () =>
        /procyon_procs\{namespace="default",function="slow",state="busy"\} 1/.test(
          await (await fetch(`${first.url}/metrics`)).text(),
        ),
      { what: 'the call in flight' },
    );
    const stopped = first.stop();
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'finished');
    const activationId = res.headers.get('x-procyon-activation-id');
    assert.deepEqual(await stopped, { code: 0, signal: null });

    const second = await startNode({ dataDir: first.dataDir });
    try {
      assert.equal(second.key, first.key, 'the admin key is created once');
      assert.doesNotMatch(second.output(), /Admin API key/);
      const a = await fetch(`${second.url}/api/v1/namespaces/default/activations/${activationId}`, {
        headers: auth,
      });
      assert.equal(a.status, 200, 'the drained call was recorded');
      assert.equal((await json(a)).status, 'success');
      const again = await fetch(`${second.url}/slow`);
      assert.equal(await again.text(), 'finished', 'functions and routes survive a restart');
    } finally {
      await second.stop();
    }
  });
});
