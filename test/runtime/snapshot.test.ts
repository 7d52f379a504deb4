/**
 * The prelude must survive the isolated-vm snapshot intact (see the snapshot rule in
 * src/runtime/index.ts), and this file also reports its size and the hello-world cold start.
 */
import ivm from 'isolated-vm';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { PRELUDE_PATH, preludeSnapshot, preludeSource, TestProc } from './harness.js';
import { auditSnapshotCode, preludeFunctionsRun } from './snapshot-audit.js';

/** Init functions of lazily loaded code: third-party libraries and the modules of src/runtime/lazy.ts. */
const LAZY =
  /(?:^|\/)node_modules\/|^src\/runtime\/(?:abort|blob|clone|events|form-data|multipart|outgoing|platform|text-streams|wait-until)\.ts$/;

/** What the prelude's globals look like from the inside; must be the same with and without snapshot. */
const CENSUS = `JSON.stringify(
  ['self', 'console', 'DOMException', 'atob', 'btoa', 'TextEncoder', 'TextDecoder', 'URL', 'URLSearchParams',
   'Headers', 'Request', 'Response', 'queueMicrotask', 'reportError', 'ReadableStream', 'WritableStream',
   'TransformStream', 'TextEncoderStream', 'TextDecoderStream', 'Blob', 'File', 'FormData', 'Event',
   'EventTarget', 'AbortController', 'AbortSignal', 'structuredClone', 'URLPattern', 'performance',
   'navigator'].map((name) => {
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
    new URLPattern({ pathname: '/a/:b' }).exec('https://x.example/a/:').pathname.groups.b,
    structuredClone(new Map([[':', { '/': ':' }]])).get(':')['/'],
    navigator.userAgent,
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

  test('no function that runs while the snapshot is made holds what the snapshot corrupts', () => {
    const ran = preludeFunctionsRun(PRELUDE_PATH).atSnapshot;
    // The prelude's top level and the warmed call path (src/runtime/warm.ts) run then, and no
    // lazily loaded module or library (src/runtime/lazy.ts).
    assert.ok(ran.length > 50, `only ${ran.length} functions ran`);
    assert.ok(
      ran.some(([, , name]) => name === 'runFetch'),
      'the call path was not warmed',
    );
    assert.deepEqual(
      ran.filter(([, , name]) => LAZY.test(name)),
      [],
    );
    assert.deepEqual(auditSnapshotCode(preludeSource(), ran), []);
  });

  test('the audit finds what the snapshot would corrupt', () => {
    const bad = `(() => {
      const table = { a: 1 };
      function make(key) { return () => key + table.a + ':'; }
      const x = make('long key');
      globalThis.probe = () => x();
    })();`;
    const path = join(mkdtempSync(join(tmpdir(), 'procyon-audit-')), 'bad.js');
    writeFileSync(path, bad);
    const problems = auditSnapshotCode(bad, preludeFunctionsRun(path).atSnapshot);
    rmSync(dirname(path), { recursive: true, force: true });
    assert.deepEqual(
      problems.map((p) => p.replace(/, line \d+: .*$/, '')),
      ['(anonymous): one-character key', '(anonymous): one-character variable captured by a nested function'],
    );
  });

  test('a hello-world call runs no library or lazy module; reading .body loads the streams library', () => {
    const call = (handler: string): string[] => {
      const script = `
        const isolate = new ivm.Isolate({ snapshot, memoryLimit: 64 });
        const context = isolate.createContextSync();
        await context.eval(${JSON.stringify(`(async () => {
          const request = new Request('https://fn.example/a?b=c', { method: 'POST', headers: { accept: '*/*' }, body: '{"x":1}' });
          const response = await (${handler})(request);
          return [response.status, await response.text()].join();
        })()`)}, { promise: true });`;
      return preludeFunctionsRun(PRELUDE_PATH, script).inIsolates.map(([, , name]) => name);
    };
    const hello = call(`async (request) => Response.json({ got: await request.json(), url: request.url })`);
    assert.ok(hello.length > 0);
    assert.deepEqual(
      hello.filter((name) => LAZY.test(name)),
      [],
    );
    const streamed = call(`async (request) => new Response(request.body)`);
    // Ends with: esbuild names the real path, which is outside the tree when node_modules is a link.
    assert.ok(
      streamed.some((name) => name.endsWith('node_modules/web-streams-polyfill/dist/ponyfill.js')),
      streamed.join(),
    );
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

  test('size and the hello-world cold start (reported; only the size is asserted)', async (t) => {
    const size = statSync(PRELUDE_PATH).size;
    let start = performance.now();
    const snapshot = ivm.Isolate.createSnapshot([{ code: preludeSource(), filename: 'procyon:prelude.js' }]);
    const snapshotMs = performance.now() - start;

    const rounds = 40;
    const contextMs: number[] = [];
    const callMs: number[] = [];
    const procMs: number[] = [];
    const streamsMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      start = performance.now();
      const isolate = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: 64 });
      const context = isolate.createContextSync();
      contextMs.push(performance.now() - start);
      start = performance.now();
      context.evalSync(`new ReadableStream().locked`);
      streamsMs.push(performance.now() - start);
      isolate.dispose();

      start = performance.now();
      const proc = await TestProc.create(
        `export default { fetch() { return new Response('Hello, world'); } };`,
      );
      const created = performance.now();
      await proc.fetch();
      callMs.push(performance.now() - created);
      procMs.push(performance.now() - start);
      proc.dispose();
    }
    const p50 = (values: number[]): string =>
      `${[...values].sort((a, b) => a - b)[values.length >> 1]?.toFixed(2)} ms`;
    t.diagnostic(
      `prelude: ${size} bytes (${(size / 1024).toFixed(1)} KiB); snapshot of ${snapshot.copy().byteLength} bytes made in ${snapshotMs.toFixed(1)} ms`,
    );
    t.diagnostic(`isolate + context from snapshot: ${p50(contextMs)} (p50 of ${rounds})`);
    t.diagnostic(`first streams use in an isolate (loads the streams library): ${p50(streamsMs)}`);
    t.diagnostic(
      `hello world: isolate + module + bind + first fetch call: ${p50(procMs)}, of which the call ${p50(callMs)}`,
    );
    // Lazily loaded code is source text in the snapshot, so it still costs a little at start-up.
    assert.ok(size < 400 * 1024, `prelude is ${size} bytes`);
  });
});
