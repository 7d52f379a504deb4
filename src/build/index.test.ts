import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bundleEntry,
  bundleSource,
  formatBuildError,
  IMPORTS_MUST_BE_BUNDLED,
  type BuildResult,
} from './index.js';

function expectError(r: BuildResult) {
  assert.equal(r.ok, false, r.ok ? `expected a build error, got code:\n${r.code}` : '');
  return r.error;
}

function expectCode(r: BuildResult): string {
  assert.ok(r.ok, r.ok ? '' : formatBuildError(r.error));
  return r.code;
}

async function importModule(code: string): Promise<Record<string, unknown>> {
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Record<
    string,
    unknown
  >;
}

void describe('bundleEntry', () => {
  let dir: string;
  void before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procyon-build-'));
  });
  void after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('bundles a TS entry and its sibling and node_modules imports into one module', async () => {
    await writeFile(
      join(dir, 'greet.ts'),
      'export function greet(n: string): string { return `hi ${n}`; }\n',
    );
    await mkdir(join(dir, 'node_modules', 'dep'), { recursive: true });
    await writeFile(
      join(dir, 'node_modules', 'dep', 'package.json'),
      JSON.stringify({ name: 'dep', main: 'node.js', module: 'esm.js' }),
    );
    await writeFile(join(dir, 'node_modules', 'dep', 'esm.js'), 'export const suffix = "!";\n');
    await writeFile(join(dir, 'node_modules', 'dep', 'node.js'), 'throw new Error("wrong build")\n');
    const entry = join(dir, 'hello.ts');
    await writeFile(
      entry,
      [
        "import { greet } from './greet.js';",
        "import { suffix } from 'dep';",
        'interface Env { NAME: string }',
        'export function handler(env: Env): string { return greet(env.NAME) + suffix; }',
        '',
      ].join('\n'),
    );
    const code = expectCode(await bundleEntry(entry));
    assert.doesNotMatch(code, /\bimport\b[^(]*\bfrom\b/, 'no import statements are left');
    assert.doesNotMatch(code, /interface Env/, 'types are stripped');
    const mod = await importModule(code);
    assert.equal((mod.handler as (e: { NAME: string }) => string)({ NAME: 'ada' }), 'hi ada!');
  });

  void it('reports file, line and column of a syntax error', async () => {
    const entry = join(dir, 'broken.ts');
    await writeFile(entry, 'export const a = 1;\nfunction f() {\n  let b = 1 x\n}\n');
    const err = expectError(await bundleEntry(entry));
    assert.equal(err.file, relative(process.cwd(), entry));
    assert.equal(err.line, 3);
    assert.equal(err.column, 13);
    assert.equal(err.message, 'Expected ";" but found "x"');
    assert.equal(formatBuildError(err), `${err.file}:3:13: Expected ";" but found "x"`);
  });

  void it('reports the file of an error in an imported module', async () => {
    await writeFile(join(dir, 'bad-dep.ts'), 'export const x = ;\n');
    const entry = join(dir, 'uses-bad.ts');
    await writeFile(entry, "import { x } from './bad-dep.js';\nexport default { x };\n");
    const err = expectError(await bundleEntry(entry));
    assert.match(err.file, /bad-dep\.ts$/);
    assert.equal(err.line, 1);
  });

  for (const spec of ['node:fs', 'fs', 'fs/promises', 'node:test']) {
    void it(`rejects the Node built-in "${spec}" with a clear message`, async () => {
      const entry = join(dir, `builtin-${spec.replace(/\W/g, '_')}.ts`);
      await writeFile(entry, `\nimport * as m from '${spec}';\nexport default { m };\n`);
      const err = expectError(await bundleEntry(entry));
      assert.equal(err.line, 2);
      assert.equal(err.column, 20);
      assert.equal(
        err.message,
        `Node built-in module "${spec}" is not available: functions run in V8 isolates without Node APIs`,
      );
    });
  }

  void it('reports an unresolvable package as esbuild does', async () => {
    const entry = join(dir, 'missing-pkg.ts');
    await writeFile(entry, "import x from 'no-such-package';\nexport default { x };\n");
    const err = expectError(await bundleEntry(entry));
    assert.equal(err.message, 'Could not resolve "no-such-package"');
  });

  void it('reports a missing entry file without a position', async () => {
    const err = expectError(await bundleEntry(join(dir, 'nope.ts')));
    assert.equal(err.line, 0);
    assert.match(formatBuildError(err), /nope\.ts: cannot read file \(ENOENT\)$/);
  });

  void it('rejects an unsupported extension', async () => {
    const err = expectError(await bundleEntry(join(dir, 'style.css')));
    assert.match(err.message, /unsupported file type "\.css"/);
  });
});

void describe('bundleSource', () => {
  void it('strips TypeScript from a single module', async () => {
    const code = expectCode(
      await bundleSource('export function handler(e: { n: number }): number { return e.n * 2; }', 'h.ts'),
    );
    const mod = await importModule(code);
    assert.equal((mod.handler as (e: { n: number }) => number)({ n: 21 }), 42);
  });

  void it('keeps JavaScript as is (modulo formatting)', async () => {
    const code = expectCode(await bundleSource('export default { fetch() { return 1; } };', 'h.mjs'));
    const mod = await importModule(code);
    assert.equal((mod.default as { fetch(): number }).fetch(), 1);
  });

  for (const [what, src] of [
    ['a relative import', "import { x } from './x.js';\nexport default { x };"],
    ['a package import', "import { x } from 'zod';\nexport default { x };"],
    ['a dynamic import', "export default { f: () => import('./x.js') };"],
    ['a require call', "export default { x: require('zod') };"],
  ] as const) {
    void it(`rejects ${what} without reading the disk`, async () => {
      const err = expectError(await bundleSource(src, 'fn.js'));
      assert.equal(err.file, 'fn.js');
      assert.equal(err.line, 1);
      assert.ok(err.column > 0);
      assert.ok(err.message.endsWith(IMPORTS_MUST_BE_BUNDLED), err.message);
      assert.match(err.message, /^cannot import "(\.\/x\.js|zod)"/);
    });
  }

  void it('reports a syntax error against the given filename', async () => {
    const err = expectError(
      await bundleSource('export default {\n  fetch() {\n    return 1 +;\n  }\n}', 'hello.ts'),
    );
    assert.deepEqual(
      { file: err.file, line: err.line },
      {
        file: 'hello.ts',
        line: 3,
      },
    );
    assert.match(formatBuildError(err), /^hello\.ts:3:\d+: /);
  });

  void it('rejects an unknown extension', async () => {
    const err = expectError(await bundleSource('x', 'fn.py'));
    assert.equal(err.file, 'fn.py');
    assert.match(err.message, /unsupported file type "\.py"/);
  });
});
