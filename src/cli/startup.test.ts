// What a CLI start loads: `procyon --help` (and so every command's start) must not load the
// archive libraries (tar-stream, yauzl) that only `procyon deploy <dir>` needs, nor a sandbox
// driver (isolated-vm); the CLI starts for every command and should start fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageUrls, traceModules } from '../../test/module-trace.js';

const CLI_BIN = fileURLToPath(new URL('../../../bin/procyon.js', import.meta.url));

test('procyon --help loads no archive library and no sandbox driver', async () => {
  const run = await traceModules([CLI_BIN, '--help']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /deploy/);
  // The trace works: the CLI's own dependency is in it.
  assert.notDeepEqual(packageUrls(run, 'commander'), []);
  for (const name of ['tar-stream', 'yauzl', 'isolated-vm'])
    assert.deepEqual(packageUrls(run, name), [], `${name} is loaded by procyon --help`);
});
