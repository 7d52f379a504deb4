import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { LogPolicy } from '../logs.js';
import { SandboxOutput } from './output.js';
import type { Sandbox } from './types.js';

function fakeSandbox(): Sandbox & { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  return {
    id: 'x',
    pid: 1,
    stdout,
    stderr,
    exited: new Promise(() => undefined),
    usage: () => ({ memoryBytes: 0, memoryPeakBytes: 0, cpuMs: 0, pids: 0 }),
    setMemoryLimit: () => Promise.resolve(),
    signal: () => undefined,
    kill: () => Promise.resolve({ code: 0, signal: null, oomKilled: false }),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SandboxOutput', () => {
  test('lines go to the invocation in flight; stderr is error level; secrets are masked; a split UTF-8 character survives', async () => {
    const sb = fakeSandbox();
    const out = new SandboxOutput(sb, new LogPolicy({ TOKEN: 'hunter22' }), 1024);
    sb.stdout.write('before the call\n');
    await tick();
    out.begin(1024);
    const euro = Buffer.from('€ token=hunter22\n');
    sb.stdout.write(euro.subarray(0, 1));
    sb.stdout.write(euro.subarray(1));
    sb.stderr.write('oops\nno newline');
    await tick();
    const { lines, truncated } = out.end();
    assert.equal(truncated, false);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ['log', 'before the call'],
        ['log', '€ token=[REDACTED]'],
        ['error', 'oops'],
        ['error', 'no newline'],
      ],
    );
    out.begin(1024);
    assert.deepEqual(out.end().lines, []);
  });

  test('a flood past the cap is truncated with a marker and reading stops until the next invocation', async () => {
    const sb = fakeSandbox();
    const out = new SandboxOutput(sb, new LogPolicy({}), 256);
    out.begin(256);
    for (let i = 0; i < 50; i++) sb.stdout.write(`${'x'.repeat(40)}\n`);
    await tick();
    assert.equal(sb.stdout.isPaused(), true);
    const { lines, truncated } = out.end();
    assert.equal(truncated, true);
    assert.match(lines.at(-1)?.msg ?? '', /log limit reached/);
    assert.ok(lines.length < 10);
    out.begin(256);
    assert.equal(sb.stdout.isPaused(), false);
  });

  test('one endless line is cut into bounded pieces', async () => {
    const sb = fakeSandbox();
    const out = new SandboxOutput(sb, new LogPolicy({}), 1024 * 1024);
    out.begin(1024 * 1024);
    sb.stdout.write('y'.repeat(40_000));
    await tick();
    const { lines } = out.end();
    assert.ok(lines.every((l) => l.msg.length <= 16 * 1024));
    assert.equal(
      lines.reduce((n, l) => n + l.msg.length, 0),
      40_000,
    );
  });
});
