/**
 * Native-driver functions end to end (docs/native-driver.md): the nodejs and python3 runtimes
 * Procyon ships, a custom bootstrap written as the Lambda docs show one (bash and curl), HTTP
 * routes, activations, warm reuse, and the failures a runtime can have: an init error, a throw, a
 * timeout, a crash. Limits and escape probes are in native-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from './node.js';
import { deployProgram, invoke, sandboxMissing } from './native-fixtures.js';

const skip = sandboxMissing();

const PY = `import json, os, uuid
BOOT = uuid.uuid4().hex
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"hello": event.get("queryStringParameters", {}).get("name", "world") if isinstance(event, dict) else None,
                                "fn": context.function_name, "left": context.get_remaining_time_in_millis() > 0,
                                "greeting": os.environ.get("GREETING"), "pid": BOOT})}
`;

const NODE = `export const handler = async (event, context) => ({ echo: event, requestId: context.awsRequestId, fn: context.functionName });
`;

/** A custom runtime as the AWS tutorial builds one: poll next, answer by request id, forever. */
const BOOTSTRAP = `#!/bin/sh
set -eu
API="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next")"
  ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  echo "handling $ID"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"got\\": $EVENT, \\"handler\\": \\"$_HANDLER\\"}" > /dev/null
done
`;

describe('native driver: functions', { skip }, () => {
  let node: TestNode;

  before(async () => {
    node = await startTestNode({ nativePool: 1 });
  });
  after(() => node.stop());

  test('python3: deploy a directory with a route; the HTTP request arrives as an API Gateway event', async () => {
    const r = await deployProgram(
      node,
      'py',
      'python3',
      { 'app.py': PY },
      { routes: ['GET /py'], vars: { GREETING: 'hi' } },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.function.style, 'handler');
    assert.equal(r.body.function.runtime.name, 'python3');
    assert.match(r.body.function.runtime.artifact, /^[0-9a-f]{64}$/);
    const first = await fetch(`${node.url}/py?name=ada`);
    assert.equal(first.status, 200);
    const body = (await first.json()) as {
      hello: string;
      fn: string;
      left: boolean;
      greeting: string;
      pid: number;
    };
    assert.deepEqual({ ...body, pid: 0 }, { hello: 'ada', fn: 'py', left: true, greeting: 'hi', pid: 0 });
    const second = (await (await fetch(`${node.url}/py`)).json()) as { pid: number };
    // One sandbox served both: the runtime stayed warm.
    assert.equal(second.pid, body.pid);
    const acts = await node.api('GET', '/api/v1/namespaces/default/activations?fn=py');
    assert.equal(acts.status, 200);
    const [latest, earlier] = acts.body.activations as { cold: boolean; status: string; trigger: string }[];
    assert.equal(latest?.status, 'success');
    assert.equal(latest?.cold, false);
    assert.equal(earlier?.cold, true);
    assert.equal(latest?.trigger, 'http');
  });

  test('nodejs: an ES module handler gets the event and a Lambda context', async () => {
    const r = await deployProgram(node, 'js', 'nodejs', { 'app.mjs': NODE });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const out = await invoke(node, 'js', { n: 1 });
    assert.equal(out.status, 200, JSON.stringify(out.body));
    assert.deepEqual(out.body.echo, { n: 1 });
    assert.equal(out.body.fn, 'js');
    assert.equal(out.body.requestId, out.headers.get('x-procyon-activation-id'));
  });

  test('custom: an unmodified Lambda-tutorial bootstrap (sh + curl) serves invocations; its output is the activation log', async () => {
    const r = await deployProgram(
      node,
      'sh',
      'custom',
      { bootstrap: BOOTSTRAP },
      { handler: 'function.handler' },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    for (const n of [1, 2]) {
      const out = await invoke(node, 'sh', { n });
      assert.equal(out.status, 200, JSON.stringify(out.body));
      assert.deepEqual(out.body, { got: { n }, handler: 'function.handler' });
      const act = await node.api(
        'GET',
        `/api/v1/namespaces/default/activations/${out.headers.get('x-procyon-activation-id')}`,
      );
      assert.ok(
        (act.body.logs as { msg: string }[]).some((l) => l.msg.includes(`handling ${act.body.id}`)),
        JSON.stringify(act.body.logs),
      );
    }
  });

  test('an exception in the handler is the error of that call; the sandbox stays for the next', async () => {
    const code = `import uuid
BOOT = uuid.uuid4().hex
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"pid": BOOT}
`;
    assert.equal((await deployProgram(node, 'thrower', 'python3', { 'app.py': code })).status, 201);
    const ok1 = await invoke(node, 'thrower', {});
    const bad = await invoke(node, 'thrower', { fail: true });
    assert.equal(bad.status, 500);
    assert.equal(bad.body.error.code, 'PROCYON_FUNCTION_ERROR');
    assert.match(bad.body.error.message, /ValueError: asked to fail/);
    const ok2 = await invoke(node, 'thrower', {});
    assert.equal(ok2.body.pid, ok1.body.pid);
  });

  test('a module that fails at import fails the deploy with what it printed', async () => {
    const r = await deployProgram(node, 'broken', 'python3', {
      'app.py': 'raise RuntimeError("bad import")\n',
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'PROCYON_BUILD_FAILED');
    assert.match(r.body.error.message, /bad import/);
    const missing = await deployProgram(node, 'nohandler', 'python3', { 'other.py': 'x = 1\n' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /app\.py/);
  });

  test('a bootstrap that exits at init is a clear error, and a bad deploy never replaces a good version', async () => {
    const r = await deployProgram(node, 'sh', 'custom', {
      bootstrap: '#!/bin/sh\necho "no runtime here" >&2\nexit 3\n',
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error.message, /exit(ed)? .*3|code 3/);
    const still = await invoke(node, 'sh', { n: 3 });
    assert.equal(still.status, 200);
  });

  test('a call past its timeout is 504; the runtime is replaced and the next call works', async () => {
    const code = `import time, uuid
BOOT = uuid.uuid4().hex
def handler(event, context):
    if event.get("sleep"):
        time.sleep(60)
    return {"pid": BOOT}
`;
    assert.equal(
      (await deployProgram(node, 'sleeper', 'python3', { 'app.py': code }, { timeout: 1500 })).status,
      201,
    );
    const before = await invoke(node, 'sleeper', {});
    const t0 = Date.now();
    const slow = await invoke(node, 'sleeper', { sleep: true });
    assert.equal(slow.status, 504);
    assert.equal(slow.body.error.code, 'PROCYON_TIMEOUT');
    assert.ok(Date.now() - t0 < 10_000);
    const after = await invoke(node, 'sleeper', {});
    assert.equal(after.status, 200);
    assert.notEqual(after.body.pid, before.body.pid);
  });

  test('a runtime that dies mid-call fails that call only', async () => {
    const code = `import os
def handler(event, context):
    if event.get("die"):
        os._exit(7)
    return {"ok": True}
`;
    assert.equal((await deployProgram(node, 'dier', 'python3', { 'app.py': code })).status, 201);
    const died = await invoke(node, 'dier', { die: true });
    assert.equal(died.status, 500);
    assert.match(died.body.error.message, /exited during the invocation \(exit code 7\)/);
    assert.deepEqual((await invoke(node, 'dier', {})).body, { ok: true });
  });

  test('bad deploys: unknown runtime, no artifact, no handler, bindings, concurrency > 1', async () => {
    const put = (body: Record<string, unknown>) =>
      node.api('PUT', '/api/v1/namespaces/default/functions/bad', body);
    const art = Buffer.from('not an archive at all').toString('base64');
    assert.equal((await put({ runtime: 'ruby', artifact: art })).status, 400);
    const none = await put({ runtime: 'python3', handler: 'app.handler' });
    assert.equal(none.status, 400);
    assert.match(none.body.error.message, /needs an artifact/);
    const noHandler = await put({ runtime: 'python3', artifact: art });
    assert.match(noHandler.body.error.message, /needs a handler/);
    const junk = await put({ runtime: 'python3', handler: 'app.handler', artifact: art });
    assert.equal(junk.status, 400);
    const kv = await put({ runtime: 'python3', handler: 'app.handler', artifact: art, kv: { KV: 'x' } });
    assert.match(kv.body.error.message, /KV and service bindings/);
    const conc = await put({
      runtime: 'python3',
      handler: 'app.handler',
      artifact: art,
      scaling: { concurrency: 4 },
    });
    assert.match(conc.body.error.message, /concurrency must be 1/);
  });
});
