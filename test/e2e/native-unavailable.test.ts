/**
 * A machine without bubblewrap (RELIABILITY: say which capabilities were found): the banner says
 * the native driver is unavailable and why, native-driver deploys get a clear 503, isolate
 * functions are unaffected; with --unsafe-native-sandbox the same programs run unsandboxed.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { packDirectory } from '../../src/artifacts/index.js';
import { nodeApi, startNode, type NodeProcess } from './harness.js';
import { program } from './native-fixtures.js';

const PY = { 'app.py': 'def handler(event, context):\n    return {"echo": event}\n' };
/** No bwrap and no socat on this PATH: what a machine without the packages looks like. */
const BARE = { PATH: '/nonexistent' };

describe('native driver on a machine without bubblewrap', () => {
  const nodes: NodeProcess[] = [];
  after(async () => {
    for (const n of nodes) await n.stop();
  });

  test('the banner says why; program deploys get 503 PROCYON_SANDBOX_UNAVAILABLE; isolates work', async () => {
    const node = await startNode({ env: BARE });
    nodes.push(node);
    assert.match(node.output(), /native driver: unavailable \(bubblewrap not found.*--unsafe-native-sandbox/);
    const artifact = (await packDirectory(program(PY))).toString('base64');
    const res = await nodeApi(node, 'PUT', '/namespaces/default/functions/py', {
      runtime: 'python3',
      handler: 'app.handler',
      artifact,
    });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PROCYON_SANDBOX_UNAVAILABLE');
    assert.match(body.error.message, /bubblewrap not found/);
    const iso = await nodeApi(node, 'PUT', '/namespaces/default/functions/hi', {
      code: 'export default { fetch: () => new Response("hi") }',
      filename: 'hi.js',
    });
    assert.equal(iso.status, 201);
    assert.equal(await (await fetch(`${node.url}/fn/default/hi`)).text(), 'hi');
  });

  test('--unsafe-native-sandbox runs them anyway, and says so loudly', async () => {
    const node = await startNode({ env: BARE, args: ['--unsafe-native-sandbox'] });
    nodes.push(node);
    assert.match(node.output(), /native driver: UNSAFE development mode/);
    const artifact = (await packDirectory(program(PY))).toString('base64');
    const res = await nodeApi(node, 'PUT', '/namespaces/default/functions/py', {
      runtime: 'python3',
      handler: 'app.handler',
      artifact,
    });
    assert.equal(res.status, 201, await res.text());
    const out = await nodeApi(node, 'POST', '/namespaces/default/functions/py/invoke', { n: 1 });
    assert.equal(out.status, 200);
    assert.deepEqual(await out.json(), { echo: { n: 1 } });
  });
});
