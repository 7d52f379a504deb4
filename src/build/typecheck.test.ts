import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatBuildError, typecheckEntry, typecheckSource, type TypecheckResult } from './index.js';

function expectError(r: TypecheckResult) {
  assert.equal(r.ok, false, 'expected a type error');
  return r;
}

function expectOk(r: TypecheckResult): void {
  assert.ok(r.ok, r.ok ? '' : formatBuildError(r.error));
}

const WORKER = [
  'export default {',
  '  async fetch(request: Request): Promise<Response> {',
  '    const url = new URL(request.url);',
  '    const body = new TextEncoder().encode(await request.text());',
  "    const headers = new Headers({ 'x-len': String(body.byteLength) });",
  "    return Response.json({ path: url.pathname, q: url.searchParams.get('q') }, { headers });",
  '  },',
  '};',
  '',
].join('\n');

void describe('typecheckSource', () => {
  void it('reports the first type error with file, 1-based line and column, and how many more', async () => {
    const code = [
      'export const a = 1;',
      'export function f(): number {',
      "  const n: number = 'x';",
      '  return n;',
      '}',
      'export const s: string = 2;',
      '',
    ].join('\n');
    const r = expectError(await typecheckSource(code, 'hello.ts'));
    assert.deepEqual(r.error, {
      file: 'hello.ts',
      line: 3,
      column: 9,
      message: "Type 'string' is not assignable to type 'number'. (and 1 more error)",
    });
    assert.equal(r.errors, 2);
    assert.equal(
      formatBuildError(r.error),
      "hello.ts:3:9: Type 'string' is not assignable to type 'number'. (and 1 more error)",
    );
  });

  void it('passes a clean file, and knows Request, Response, Headers, URL and TextEncoder', async () => {
    expectOk(await typecheckSource(WORKER, 'worker.ts'));
    // Typed, not `any`: a misuse is an error.
    const r = expectError(
      await typecheckSource('export const n: number = new URL("http://x/").href;\n', 'u.ts'),
    );
    assert.equal(r.error.message, "Type 'string' is not assignable to type 'number'.");
    const s = expectError(await typecheckSource('export const b = new Response("x").bodyy;\n', 'r.ts'));
    assert.match(s.error.message, /Property 'bodyy' does not exist on type 'Response'/);
  });

  void it('is strict: an implicitly any parameter is an error', async () => {
    const r = expectError(
      await typecheckSource('export default { fetch(req) { return new Response(req.url); } };\n', 'loose.ts'),
    );
    assert.equal(r.error.line, 1);
    assert.equal(r.error.column, 24);
    assert.equal(r.error.message, "Parameter 'req' implicitly has an 'any' type.");
  });

  void it('joins a chained message into one line', async () => {
    const code = 'const o: { a: { b: number } } = { a: { b: "x" } };\nexport { o };\n';
    const r = expectError(await typecheckSource(code, 'chain.mts'));
    assert.doesNotMatch(r.error.message, /\n/);
    assert.equal(r.error.file, 'chain.mts');
  });

  void it('does not check JavaScript', async () => {
    expectOk(await typecheckSource('const n = 1; n.nope(); export default { fetch(r) {} };\n', 'plain.js'));
    expectOk(await typecheckSource('const n = 1; n.nope();\n', 'plain.mjs'));
  });

  void it('reads no file the source names: references and imports do not resolve', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'procyon-tc-ref-'));
    try {
      const decl = join(dir, 'secret.d.ts');
      await writeFile(decl, 'declare const secret: number;\n');
      const viaRef = expectError(
        await typecheckSource(
          `/// <reference path="${decl}" />\nexport const n: number = secret;\n`,
          'ref.ts',
        ),
      );
      assert.match(viaRef.error.message, /not found|Cannot find name 'secret'/);
      const viaImport = expectError(
        await typecheckSource(`import { x } from '${join(dir, 'secret')}';\nexport const y = x;\n`, 'imp.ts'),
      );
      assert.match(viaImport.error.message, /Cannot find module/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('names the file as given even when it looks like a path', async () => {
    const r = expectError(await typecheckSource('export const n: number = "";\n', '../../etc/passwd.ts'));
    assert.equal(r.error.file, '../../etc/passwd.ts');
  });
});

void describe('typecheckEntry', () => {
  let dir: string;
  void before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procyon-tc-'));
  });
  void after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('checks a clean entry and its imports', async () => {
    await mkdir(join(dir, 'ok'));
    await writeFile(join(dir, 'ok', 'greet.ts'), 'export const greet = (n: string): string => `hi ${n}`;\n');
    await writeFile(
      join(dir, 'ok', 'main.ts'),
      "import { greet } from './greet.js';\n" + WORKER.replace('url.pathname', 'greet(url.pathname)'),
    );
    expectOk(await typecheckEntry(join(dir, 'ok', 'main.ts')));
  });

  void it('checks across files: a wrong call in the entry, an error inside the imported file', async () => {
    await mkdir(join(dir, 'multi'));
    const greet = join(dir, 'multi', 'greet.ts');
    const entry = join(dir, 'multi', 'main.ts');
    await writeFile(greet, 'export function greet(n: string): string { return n; }\n');
    await writeFile(entry, "import { greet } from './greet.js';\n\nexport const out = greet(42);\n");
    const wrongCall = expectError(await typecheckEntry(entry));
    assert.deepEqual(wrongCall.error, {
      file: relative(process.cwd(), entry),
      line: 3,
      column: 26,
      message: "Argument of type 'number' is not assignable to parameter of type 'string'.",
    });

    await writeFile(greet, 'export function greet(n: string): string {\n  return n * 2;\n}\n');
    await writeFile(entry, "import { greet } from './greet.ts';\nexport const out = greet('a');\n");
    const inImport = expectError(await typecheckEntry(entry));
    assert.equal(inImport.error.file, relative(process.cwd(), greet));
    assert.equal(inImport.error.line, 2);
  });

  void it('honours the nearest tsconfig.json: strict false allows an implicit any', async () => {
    const loose = 'export function f(x) { return x; }\n';
    await mkdir(join(dir, 'defaults'));
    await writeFile(join(dir, 'defaults', 'a.ts'), loose);
    const strict = expectError(await typecheckEntry(join(dir, 'defaults', 'a.ts')));
    assert.equal(strict.error.message, "Parameter 'x' implicitly has an 'any' type.");

    await mkdir(join(dir, 'proj', 'src'), { recursive: true });
    await writeFile(
      join(dir, 'proj', 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: false, lib: ['ES2022'] } }),
    );
    await writeFile(join(dir, 'proj', 'src', 'a.ts'), loose);
    expectOk(await typecheckEntry(join(dir, 'proj', 'src', 'a.ts')));
  });

  void it("includes the tsconfig's .d.ts files, so ambient declarations apply", async () => {
    await mkdir(join(dir, 'ambient'));
    await writeFile(
      join(dir, 'ambient', 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, lib: ['ES2022'], types: [] }, include: ['*.ts'] }),
    );
    await writeFile(join(dir, 'ambient', 'env.d.ts'), 'declare const BUILD_ID: string;\n');
    await writeFile(join(dir, 'ambient', 'main.ts'), 'export const id: string = BUILD_ID;\n');
    // Included by the config, but not imported by the entry: not checked.
    await writeFile(join(dir, 'ambient', 'unrelated.ts'), 'export const n: number = "";\n');
    expectOk(await typecheckEntry(join(dir, 'ambient', 'main.ts')));
  });

  void it('reports an unknown option or a JSON syntax error in tsconfig.json at its place', async () => {
    await mkdir(join(dir, 'badconfig'));
    await writeFile(
      join(dir, 'badconfig', 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { lib: ['ES2022'], strictt: true } }),
    );
    await writeFile(join(dir, 'badconfig', 'a.ts'), 'export const a = 1;\n');
    const r = expectError(await typecheckEntry(join(dir, 'badconfig', 'a.ts')));
    assert.equal(r.error.file, relative(process.cwd(), join(dir, 'badconfig', 'tsconfig.json')));
    assert.equal(r.error.line, 1);
    assert.match(r.error.message, /Unknown compiler option 'strictt'/);
    await writeFile(
      join(dir, 'badconfig', 'tsconfig.json'),
      '{\n  "compilerOptions": { "lib": ["ES2022"],\n',
    );
    const syntax = expectError(await typecheckEntry(join(dir, 'badconfig', 'a.ts')));
    assert.equal(syntax.error.file, r.error.file);
    assert.equal(syntax.error.line, 3);
  });

  void it('does not check a JavaScript entry', async () => {
    await writeFile(join(dir, 'plain.js'), 'const n = 1; n.nope();\nexport default { fetch() {} };\n');
    expectOk(await typecheckEntry(join(dir, 'plain.js')));
  });
});
