/**
 * The one place that runs esbuild on user code. The CLI bundles an entry file and everything it
 * imports into one ES module (`bundleEntry`); the server runs the same transform on the single
 * source string it receives (`bundleSource`), where any remaining import is an error because the
 * server must never resolve user-chosen paths against its own file system.
 *
 * Both return a `BuildResult` instead of throwing: a build error is an expected outcome that the
 * CLI prints and the API returns as `PROCYON_BUILD_FAILED`. Type checking (typecheck.ts) is a
 * separate step that reports errors the same way: esbuild only strips types.
 */
import { build, type BuildOptions, type Loader, type Message, type Plugin } from 'esbuild';
import { stat } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { extname } from 'node:path';

export interface BuildError {
  /** The file as esbuild names it: relative to the working directory, or the given filename. */
  file: string;
  /** 1-based; 0 when the error has no position (e.g. a missing entry file). */
  line: number;
  /** 1-based, like tsc and editors (esbuild itself prints 0-based columns); 0 when unknown. */
  column: number;
  message: string;
}

export type BuildResult = { ok: true; code: string } | { ok: false; error: BuildError };

/** Why a source uploaded to the server may not import anything. */
export const IMPORTS_MUST_BE_BUNDLED = 'imports must be bundled; deploy with the CLI, which bundles them';

/**
 * Options shared by both entry points. `neutral` plus browser/worker conditions picks the builds
 * of npm packages meant for runtimes without Node APIs, which is what an isolate is.
 */
const common = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['worker', 'browser'],
  target: 'es2022',
  write: false,
  minify: false,
  keepNames: true,
  logLevel: 'silent',
} as const satisfies BuildOptions;

const loaders: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};

/** The esbuild loader for a file name, or undefined when the extension is not one we accept. */
export function loaderFor(filename: string): Loader | undefined {
  return loaders[extname(filename).toLowerCase()];
}

/** CLI side: bundle `path` and all its relative and node_modules imports into one ES module. */
export async function bundleEntry(path: string): Promise<BuildResult> {
  if (loaderFor(path) === undefined) return unsupported(path);
  try {
    const s = await stat(path);
    if (!s.isFile()) return fail(path, 'not a file');
  } catch (err) {
    return fail(path, `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return run({ ...common, entryPoints: [path] }, path);
}

/**
 * Server side: transform one already-bundled source. Every import (static, dynamic or require)
 * is rejected by a plugin before esbuild's resolver runs, so nothing is read from disk.
 */
export async function bundleSource(code: string, filename: string): Promise<BuildResult> {
  const loader = loaderFor(filename);
  if (loader === undefined) return unsupported(filename);
  return run(
    {
      ...common,
      stdin: { contents: code, sourcefile: filename, loader },
      // Without this esbuild would look for a tsconfig.json in the server's working directory.
      tsconfigRaw: {},
      plugins: [rejectImports],
    },
    filename,
  );
}

/** `hello.ts:3:7: Expected ";" but found "x"`; the position is left out when unknown. */
export function formatBuildError(e: BuildError): string {
  return e.line > 0 ? `${e.file}:${e.line}:${e.column}: ${e.message}` : `${e.file}: ${e.message}`;
}

const rejectImports: Plugin = {
  name: 'procyon-reject-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'entry-point'
        ? undefined
        : { errors: [{ text: `cannot import "${args.path}": ${IMPORTS_MUST_BE_BUNDLED}` }] },
    );
  },
};

async function run(options: BuildOptions, file: string): Promise<BuildResult> {
  try {
    const result = await build({ ...options, write: false });
    const out = result.outputFiles?.[0];
    if (out === undefined) return fail(file, 'esbuild produced no output');
    return { ok: true, code: out.text };
  } catch (err) {
    const first = (err as { errors?: Message[] }).errors?.[0];
    if (first === undefined) return fail(file, err instanceof Error ? err.message : String(err));
    return { ok: false, error: fromMessage(first, file) };
  }
}

function fromMessage(m: Message, fallbackFile: string): BuildError {
  const loc = m.location;
  return {
    file: loc?.file || fallbackFile,
    line: loc?.line ?? 0,
    column: loc ? loc.column + 1 : 0,
    message: rewrite(m.text),
  };
}

const builtins = new Set(builtinModules);

/** esbuild's "Could not resolve" for a Node built-in suggests platform node; say what is true here. */
function rewrite(text: string): string {
  const m = /^Could not resolve "([^"]+)"$/.exec(text);
  const spec = m?.[1];
  if (spec !== undefined && (spec.startsWith('node:') || builtins.has(spec.split('/')[0] ?? spec))) {
    return `Node built-in module "${spec}" is not available: functions run in V8 isolates without Node APIs`;
  }
  return text;
}

function fail(file: string, message: string): BuildResult {
  return { ok: false, error: { file, line: 0, column: 0, message } };
}

function unsupported(file: string): BuildResult {
  const exts = Object.keys(loaders).join(', ');
  return fail(file, `unsupported file type "${extname(file)}"; expected one of ${exts}`);
}
