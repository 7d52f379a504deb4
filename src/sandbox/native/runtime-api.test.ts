/**
 * The Lambda Runtime API server with real runtimes as plain child processes (no sandbox): the
 * bootstraps Procyon ships, a bootstrap written as the AWS tutorial writes one (sh + curl), and
 * the protocol's error paths.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { RuntimeApi } from './runtime-api.js';
import type { Invocation } from './types.js';

/** dist/src/sandbox/native/ -> the package's runtimes/ */
const RUNTIMES = fileURLToPath(new URL('../../../../runtimes/', import.meta.url));

const inv = (id: string, event: unknown, headers?: Record<string, string>): Invocation => ({
  requestId: id,
  deadlineMs: Date.now() + 10_000,
  functionArn: 'arn:procyon:lambda:local:ns:function:f:v1',
  traceId: 'Root=1-x',
  payload: Buffer.from(JSON.stringify(event)),
  ...(headers ? { headers } : {}),
});

function taskDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-rtapi-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    if (content.startsWith('#!')) chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const children: ChildProcess[] = [];
const apis: RuntimeApi[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const a of apis) a.close();
});

async function boot(
  command: string[],
  files: Record<string, string>,
  env: Record<string, string> = {},
  maxResponseBytes = 1 << 20,
): Promise<{ api: RuntimeApi; child: ChildProcess; port: number }> {
  const api = new RuntimeApi({ maxResponseBytes });
  apis.push(api);
  const port = await api.listen({ host: '127.0.0.1', port: 0 });
  const child = spawn(command[0] ?? '', command.slice(1), {
    env: {
      PATH: '/usr/bin:/bin',
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
      LAMBDA_TASK_ROOT: taskDir(files),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  return { api, child, port };
}

const PYTHON = ['/usr/bin/python3', '-u', join(RUNTIMES, 'python3/bootstrap.py')];
const NODE = [process.execPath, join(RUNTIMES, 'nodejs/bootstrap.mjs')];

describe('RuntimeApi with the shipped bootstraps', () => {
  test('python3: events in, JSON out, errors as Lambda shapes them', async () => {
    const code =
      'def handler(e, c):\n    if e.get("fail"):\n        raise KeyError("nope")\n    return {"got": e, "id": c.aws_request_id}\n';
    const { api } = await boot(PYTHON, { 'app.py': code }, { _HANDLER: 'app.handler' });
    await api.ready;
    const ok = await api.invoke(inv('r1', { a: 1 }));
    assert.equal(ok.type, 'response');
    assert.deepEqual(JSON.parse((ok as { body: Buffer }).body.toString()), { got: { a: 1 }, id: 'r1' });
    const bad = await api.invoke(inv('r2', { fail: true }));
    assert.equal(bad.type, 'error');
    assert.equal((bad as { errorType: string }).errorType, 'KeyError');
  });

  test('nodejs: ESM and CommonJS handlers, async and with a callback', async () => {
    for (const [file, code] of [
      ['app.mjs', 'export const handler = async (e) => ({ esm: e });'],
      ['app.cjs', 'exports.handler = (e, c, cb) => cb(null, { cjs: e, fn: c.functionName });'],
    ]) {
      const { api } = await boot(
        NODE,
        { [file as string]: code as string },
        { _HANDLER: 'app.handler', AWS_LAMBDA_FUNCTION_NAME: 'f' },
      );
      const r = await api.invoke(inv('r', 7));
      assert.equal(r.type, 'response', JSON.stringify(r));
      assert.deepEqual(
        JSON.parse((r as { body: Buffer }).body.toString()),
        file === 'app.mjs' ? { esm: 7 } : { cjs: 7, fn: 'f' },
      );
    }
  });

  test('pre-warmed: booted without a handler, it takes the handler and environment from the first invocation', async () => {
    for (const [command, files] of [
      [PYTHON, { 'app.py': 'import os\ndef handler(e, c):\n    return os.environ["GREETING"]\n' }],
      [NODE, { 'app.js': 'export const handler = async () => process.env.GREETING;' }],
    ] as const) {
      const { api } = await boot([...command], files);
      await api.ready;
      const env = Buffer.from(JSON.stringify({ GREETING: 'hi from env' })).toString('base64');
      const r = await api.invoke(inv('r', null, { 'Procyon-Handler': 'app.handler', 'Procyon-Env': env }));
      assert.equal((r as { body: Buffer }).body.toString(), '"hi from env"');
    }
  });

  test('an import failure is an init error, and the runtime exits', async () => {
    const { api, child } = await boot(
      PYTHON,
      { 'app.py': 'import not_a_module\n' },
      { _HANDLER: 'app.handler' },
    );
    const e = await api.initError;
    assert.equal(e.errorType, 'ModuleNotFoundError');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  test('a custom bootstrap written as the AWS tutorial does (sh + curl) works unchanged', async () => {
    const bootstrap = `#!/bin/sh
set -eu
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "{\\"echo\\":$EVENT_DATA}" > /dev/null
done
`;
    const dir = taskDir({ bootstrap });
    const { api } = await boot([join(dir, 'bootstrap')], {});
    for (const n of [1, 2, 3]) {
      const r = await api.invoke(inv(`req-${n}`, { n }));
      assert.deepEqual(JSON.parse((r as { body: Buffer }).body.toString()), { echo: { n } });
    }
  });
});

/** A raw request to the API, as a misbehaving runtime would send it. */
function raw(
  port: number,
  method: string,
  path: string,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('RuntimeApi protocol', () => {
  test('bad ids, paths and methods; a response over the cap is 413 and fails the invocation', async () => {
    const api = new RuntimeApi({ maxResponseBytes: 16 });
    apis.push(api);
    const port = await api.listen({ host: '127.0.0.1', port: 0 });
    assert.equal((await raw(port, 'POST', '/2018-06-01/runtime/invocation/nope/response', '{}')).status, 400);
    assert.equal((await raw(port, 'GET', '/2018-06-01/runtime/other')).status, 404);
    assert.equal((await raw(port, 'POST', '/2018-06-01/runtime/invocation/next')).status, 405);
    const pending = api.invoke(inv('big', {}));
    const next = await raw(port, 'GET', '/2018-06-01/runtime/invocation/next');
    assert.equal(next.status, 200);
    const posted = await raw(port, 'POST', '/2018-06-01/runtime/invocation/big/response', 'x'.repeat(100));
    assert.equal(posted.status, 413);
    const result = await pending;
    assert.equal(result.type, 'error');
    assert.equal((result as { errorType: string }).errorType, 'Function.ResponseSizeTooLarge');
  });

  test('a runtime that goes away while parked does not take the next invocation with it', async () => {
    const api = new RuntimeApi({ maxResponseBytes: 1024 });
    apis.push(api);
    const port = await api.listen({ host: '127.0.0.1', port: 0 });
    const gone = request({ host: '127.0.0.1', port, path: '/2018-06-01/runtime/invocation/next' });
    gone.on('error', () => undefined);
    gone.end();
    await api.ready;
    gone.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pending = api.invoke(inv('kept', { k: 1 }));
    const next = await raw(port, 'GET', '/2018-06-01/runtime/invocation/next');
    assert.equal(next.body, '{"k":1}');
    await raw(port, 'POST', '/2018-06-01/runtime/invocation/kept/response', '"done"');
    assert.equal(((await pending) as { body: Buffer }).body.toString(), '"done"');
  });
});
