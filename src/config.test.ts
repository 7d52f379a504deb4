import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageUrls, traceModules } from '../test/module-trace.js';
import { deprecatedEnvNotes, loadConfig } from './config.js';
import { ProcyonError } from './errors.js';

describe('config: HTTP edge limits', () => {
  it('has documented defaults', () => {
    const c = loadConfig({}, {});
    assert.equal(c.headersTimeoutMs, 10_000);
    assert.equal(c.requestTimeoutMs, 120_000);
    assert.equal(c.maxConnectionsPerIp, 512);
    assert.equal(c.maxJsonDepth, 100);
  });

  it('reads them from the environment; flags win', () => {
    const env = {
      PROCYON_HEADERS_TIMEOUT_MS: '2000',
      PROCYON_REQUEST_TIMEOUT_MS: '3000',
      PROCYON_MAX_CONNECTIONS_PER_IP: '8',
      PROCYON_MAX_JSON_DEPTH: '16',
    };
    const c = loadConfig({ maxJsonDepth: 32 }, env);
    assert.deepEqual(
      [c.headersTimeoutMs, c.requestTimeoutMs, c.maxConnectionsPerIp, c.maxJsonDepth],
      [2000, 3000, 8, 32],
    );
  });

  it('refuses a request timeout shorter than the headers timeout, naming both', () => {
    assert.throws(
      () => loadConfig({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }, {}),
      /requestTimeoutMs \(PROCYON_REQUEST_TIMEOUT_MS\): must be at least headersTimeoutMs/,
    );
  });

  it('reports a bad value as PROCYON_CONFIG_INVALID, naming the variable', () => {
    assert.throws(
      () => loadConfig({}, { PROCYON_MAX_JSON_DEPTH: 'deep' }),
      (err: unknown) =>
        err instanceof ProcyonError &&
        err.code === 'PROCYON_CONFIG_INVALID' &&
        /invalid config maxJsonDepth \(PROCYON_MAX_JSON_DEPTH\)/.test(err.message),
    );
  });
});

describe('config: what loading it loads', () => {
  it('loads no sandbox driver (the CLI reads the config without isolated-vm)', async () => {
    const config = new URL('./config.js', import.meta.url).href;
    const run = await traceModules(['--input-type=module', '-e', `await import(${JSON.stringify(config)});`]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.urls.includes(config), 'the trace saw config.js');
    assert.deepEqual(packageUrls(run, 'isolated-vm'), []);
    assert.deepEqual(
      run.urls.filter((url) => /\/sandbox\/(isolate|process)\//.test(url)),
      [],
      'a sandbox driver module was loaded',
    );
  });
});

describe('config: native driver settings renamed from PROCYON_PROCESS_*', () => {
  it('reads the new names', () => {
    const c = loadConfig({}, { PROCYON_NATIVE_POOL: '3', PROCYON_UNSAFE_NATIVE_SANDBOX: '1' });
    assert.deepEqual([c.nativePool, c.unsafeNativeSandbox], [3, true]);
    assert.deepEqual(deprecatedEnvNotes({ PROCYON_NATIVE_POOL: '3' }), []);
  });

  it('still reads the old names, with a note each; the new name wins when both are set', () => {
    const old = { PROCYON_PROCESS_PIDS: '32', PROCYON_PROCESS_POOL: '2' };
    const c = loadConfig({}, { ...old, PROCYON_NATIVE_POOL: '4' });
    assert.deepEqual([c.nativePids, c.nativePool], [32, 4]);
    assert.deepEqual(deprecatedEnvNotes(old), [
      'PROCYON_PROCESS_POOL is deprecated; use PROCYON_NATIVE_POOL',
      'PROCYON_PROCESS_PIDS is deprecated; use PROCYON_NATIVE_PIDS',
    ]);
  });
});
