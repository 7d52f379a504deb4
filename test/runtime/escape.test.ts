import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, fetchResult, TestProc, withProc } from './harness.js';

describe('escape probes', () => {
  test('user code finds no Node, no module loader and no runtime entry points', async () => {
    const code = `
      const probe = (fn) => { try { return fn(); } catch (e) { return e.name + ': ' + e.message; } };
      const atTop = {
        process: probe(() => constructor.constructor('return process')()),
        processType: probe(() => constructor.constructor('return typeof process')()),
        viaFunctionThis: probe(() => Object.keys(Function('return this')()).join(',')),
        require: typeof require,
        processTypeof: typeof process,
        globalProcess: typeof globalThis.process,
        buffer: typeof Buffer,
        procyon: typeof globalThis.__procyon,
        procyonNames: Object.getOwnPropertyNames(globalThis).filter((n) => /procyon|ivm|isolated/i.test(n)),
        importMeta: typeof import.meta,
      };
      let dynamicImport = 'not run';
      try { await import('fs'); dynamicImport = 'loaded'; } catch (e) { dynamicImport = 'failed: ' + e.message; }
      export default {
        fetch(request) {
          const inCall = {
            process: probe(() => request.constructor.constructor('return process')()),
            viaError: probe(() => new Error().constructor.constructor('return typeof process')()),
            procyon: typeof __procyon,
          };
          return Response.json({ atTop, dynamicImport, inCall });
        },
      };`;
    await withProc(code, async (proc) => {
      const out = JSON.parse(fetchResult(await proc.fetch()).text) as Record<string, unknown>;
      assert.deepEqual(out, {
        atTop: {
          process: 'ReferenceError: process is not defined',
          processType: 'undefined',
          viaFunctionThis: '',
          require: 'undefined',
          processTypeof: 'undefined',
          globalProcess: 'undefined',
          buffer: 'undefined',
          procyon: 'undefined',
          procyonNames: [],
          importMeta: 'object',
        },
        dynamicImport: out.dynamicImport,
        inCall: {
          process: 'ReferenceError: process is not defined',
          viaError: 'undefined',
          procyon: 'undefined',
        },
      });
      assert.match(String(out.dynamicImport), /^failed: /);
    });
  });

  test('a static import fails when the module is instantiated', async () => {
    await assert.rejects(
      TestProc.create(
        `import fs from 'fs'; export default { fetch() { return new Response(String(fs)); } };`,
      ),
      {
        message: /import of "fs" is not allowed/,
      },
    );
    await assert.rejects(
      TestProc.create(`import { x } from 'node:child_process'; export const handler = () => x;`),
      {
        message: /import of "node:child_process" is not allowed/,
      },
    );
  });

  test('user code cannot reach the host log callback or forge the marker budget away', async () => {
    const code = `
      export default {
        fetch() {
          console.log = () => {};
          globalThis.console = { log() {} };
          return new Response('ok');
        },
      };`;
    await withProc(code, async (proc) => {
      assert.equal(fetchResult(await proc.fetch()).text, 'ok');
      // Replacing console only silences the user's own output; dispatch still works.
      assert.equal(fetchResult(await proc.fetch()).text, 'ok');
    });
  });

  test('a runaway synchronous loop is stopped by the host timeout, not by the prelude', async () => {
    await withProc(`export default { fetch() { for (;;) {} } };`, async (proc) => {
      await assert.rejects(proc.fetch(), /Script execution timed out/);
    });
  });

  test('a thrown error cannot smuggle a host object: errors cross as plain data', async () => {
    await withProc(
      `export default { fetch() { const e = new Error('x'); e.extra = { fn() {} }; throw e; } };`,
      async (proc) => {
        const error = errorOf(await proc.fetch());
        assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'stack']);
      },
    );
  });
});
