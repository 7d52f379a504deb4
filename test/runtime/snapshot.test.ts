/**
 * The prelude must survive the isolated-vm snapshot intact (see the snapshot rule in
 * src/runtime/index.ts), and this file also reports its size and isolate start-up cost.
 */
import ivm from 'isolated-vm';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { PRELUDE_PATH, preludeSnapshot, preludeSource, TestProc } from './harness.js';

/** What the prelude's globals look like from the inside; must be the same with and without snapshot. */
const CENSUS = `JSON.stringify(
  ['self', 'console', 'DOMException', 'atob', 'btoa', 'TextEncoder', 'TextDecoder', 'URL', 'URLSearchParams',
   'Headers', 'Request', 'Response', 'queueMicrotask'].map((name) => {
    const value = globalThis[name];
    const describe = (o) => o == null ? null : Object.getOwnPropertyNames(o).sort().join(',');
    return [name, typeof value, typeof value === 'function' ? value.name : null, describe(value),
      describe(value && value.prototype)];
  }).concat([[
    new URL('https://user:pw@Example.com:81/a/./b/../c?x=1&y=:/#f').href,
    new TextDecoder().decode(new Uint8Array([0x3a, 0x2f, 0xff])),
    [...new Headers({ a: ':', 'b-c': '/' })].join(';'),
    btoa(':/?#'),
    encodeURIComponent(':/?'),
  ]])
)`;

describe('snapshot', () => {
  test('the bundle declares no one-letter names at its top level', () => {
    // esbuild's IIFE puts module top levels at two spaces of indentation.
    const offenders = preludeSource()
      .split('\n')
      .filter((line) =>
        /^ {2}(?:var|let|const|function\*?|class|async function) [A-Za-z_$](?:[^\w$]|$)/.test(line),
      );
    assert.deepEqual(offenders, []);
  });

  test('globals are the same in an isolate from the snapshot and one that ran the script', () => {
    const fromSnapshot = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: 64 });
    const fromScript = new ivm.Isolate({ memoryLimit: 64 });
    try {
      const a = fromSnapshot.createContextSync().evalSync(CENSUS) as string;
      const ctx = fromScript.createContextSync();
      fromScript.compileScriptSync(preludeSource(), { filename: 'procyon:prelude.js' }).runSync(ctx);
      const b = ctx.evalSync(CENSUS) as string;
      assert.deepEqual(JSON.parse(a), JSON.parse(b));
      assert.match(a, /"https:\/\/user:pw@example\.com:81\/a\/c\?x=1&y=:\/#f"/);
    } finally {
      fromSnapshot.dispose();
      fromScript.dispose();
    }
  });

  test('size and start-up cost (reported, not asserted)', async (t) => {
    const size = statSync(PRELUDE_PATH).size;
    let start = performance.now();
    ivm.Isolate.createSnapshot([{ code: preludeSource(), filename: 'procyon:prelude.js' }]);
    const snapshotMs = performance.now() - start;

    const rounds = 20;
    let contextMs = 0;
    let firstUrlMs = 0;
    let procMs = 0;
    for (let i = 0; i < rounds; i++) {
      start = performance.now();
      const isolate = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: 64 });
      const context = isolate.createContextSync();
      contextMs += performance.now() - start;
      start = performance.now();
      context.evalSync(`new URL('https://example.com/').href`);
      firstUrlMs += performance.now() - start;
      isolate.dispose();

      start = performance.now();
      const proc = await TestProc.create(`export default { fetch(r) { return new Response(r.url); } };`);
      await proc.fetch();
      procMs += performance.now() - start;
      proc.dispose();
    }
    const ms = (n: number): string => `${(n / rounds).toFixed(2)} ms`;
    t.diagnostic(
      `prelude: ${size} bytes (${(size / 1024).toFixed(1)} KiB); snapshot made in ${snapshotMs.toFixed(1)} ms`,
    );
    t.diagnostic(`isolate + context from snapshot: ${ms(contextMs)} (mean of ${rounds})`);
    t.diagnostic(`first URL use in an isolate (loads the URL library): ${ms(firstUrlMs)}`);
    t.diagnostic(`isolate + module + bind + first fetch call: ${ms(procMs)}`);
    assert.ok(size < 150 * 1024, `prelude is ${size} bytes`);
  });
});
