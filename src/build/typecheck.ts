/**
 * Type checking of user code at deploy, with the TypeScript compiler API. esbuild (index.ts) only
 * strips types, so without this a type error deploys and fails at run time, or never.
 *
 * Two entry points, like the bundler's: the CLI checks an entry file and everything it imports from
 * disk, honouring the project's tsconfig.json as the user's editor does (`typecheckEntry`); the
 * server checks the one uploaded source (`typecheckSource`) with a compiler host that serves only
 * that source and TypeScript's own lib files, so no user-chosen path is ever read.
 *
 * `typescript` is ~9 MB of JavaScript that takes about half a second to load: it is imported on the
 * first check, so commands and nodes that never check a file do not pay for it.
 *
 * Only TypeScript is checked (.ts, .mts, .cts, .tsx); JavaScript passes as it is.
 */
import { dirname, extname, relative, resolve } from 'node:path';
import type TS from 'typescript';
import type { BuildError } from './bundle.js';

export type TypecheckResult =
  | { ok: true }
  /** `error` is the first error; its message ends with "(and N more errors)" when there are more. */
  | { ok: false; error: BuildError; errors: number };

type TypeScript = typeof TS;

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** Whether a file name is one we type-check. */
export function isTypeScript(filename: string): boolean {
  return TS_EXTENSIONS.has(extname(filename).toLowerCase());
}

/**
 * The options used when there is no tsconfig.json (the CLI) or no way to send one (the server).
 * WebWorker is the standard lib closest to an isolate's globals (Request, Response, Headers, URL,
 * TextEncoder, ...). It also declares some an isolate lacks (fetch, setTimeout, crypto); a tighter
 * lib of our own would catch those too.
 */
function defaultOptions(ts: TypeScript): TS.CompilerOptions {
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.webworker.d.ts'],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // What esbuild does with the same source: it bundles `.ts` and JSON imports and compiles JSX
    // with React.createElement when no tsconfig says otherwise.
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    jsx: ts.JsxEmit.React,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
}

/**
 * CLI side: check `path` and every file it imports. A tsconfig.json found by walking up from the
 * entry replaces the defaults (its compilerOptions, TypeScript's defaults for the rest), and its
 * `.d.ts` files are included so ambient declarations such as an `env.d.ts` apply; its other files
 * are not checked, only what the entry imports. Files are named relative to the working directory,
 * as esbuild names them.
 */
export async function typecheckEntry(path: string): Promise<TypecheckResult> {
  if (!isTypeScript(path)) return { ok: true };
  const ts = await load();
  const entry = resolve(path);
  let options = defaultOptions(ts);
  let rootNames = [entry];
  let configErrors: TS.Diagnostic[] = [];
  const configPath = ts.findConfigFile(dirname(entry), (f) => ts.sys.fileExists(f), 'tsconfig.json');
  if (configPath !== undefined) {
    // As a JSON source file (not a plain object) so that errors in it carry a line and column.
    const json = ts.readJsonConfigFile(configPath, (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonSourceFileConfigFileContent(json, ts.sys, dirname(configPath), {}, configPath);
    options = parsed.options;
    rootNames = [entry, ...parsed.fileNames.filter((f) => f.endsWith('.d.ts'))];
    // JSON syntax errors and bad options, as tsc reports them; minus "No inputs were found": the
    // config's include may match nothing since we give the entry ourselves.
    configErrors = ts.getConfigFileParsingDiagnostics(parsed).filter((d) => d.code !== 18003);
  }
  const program = ts.createProgram({
    rootNames,
    options,
    host: ts.createCompilerHost(options),
    configFileParsingDiagnostics: configErrors,
  });
  return report(ts, ts.getPreEmitDiagnostics(program), cwdRelative, path);
}

/**
 * Server side: check one source held in memory, named `filename` in errors. Imports cannot resolve
 * (the host knows no other file); the server rejects them while bundling, before it gets here.
 */
export async function typecheckSource(code: string, filename: string): Promise<TypecheckResult> {
  if (!isTypeScript(filename)) return { ok: true };
  const ts = await load();
  const options = defaultOptions(ts);
  // A fixed virtual path: the user's filename is only a label and never becomes a path.
  const root = `${VIRTUAL_DIR}/input${extname(filename).toLowerCase()}`;
  const program = ts.createProgram({ rootNames: [root], options, host: memoryHost(ts, options, root, code) });
  return report(ts, ts.getPreEmitDiagnostics(program), (f) => (f === root ? filename : f), filename);
}

const VIRTUAL_DIR = '/procyon-virtual';

async function load(): Promise<TypeScript> {
  return (await import('typescript')).default;
}

/**
 * Parsed lib files (lib.es2022.d.ts, lib.webworker.d.ts, ...), shared by every server-side check
 * in this process: parsing and binding them is most of a check's cost (~1 s the first time), and
 * the compiler never changes a SourceFile it is given, the way its language service shares them
 * across programs. Keyed by file and language version; binding also depends on compiler options,
 * which is why only `typecheckSource`, whose options never change, uses this cache.
 */
const libFiles = new Map<string, TS.SourceFile>();

function memoryHost(
  ts: TypeScript,
  options: TS.CompilerOptions,
  root: string,
  code: string,
): TS.CompilerHost {
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  // Only `<TypeScript's lib folder>/lib.<name>.d.ts`: no other path is ever opened.
  const isLib = (f: string): boolean =>
    f.startsWith(`${libDir}/`) && /^lib\.[a-z0-9.]+\.d\.ts$/.test(f.slice(libDir.length + 1));
  return {
    getSourceFile(fileName, languageVersion) {
      if (fileName === root) return ts.createSourceFile(fileName, code, languageVersion);
      if (!isLib(fileName)) return undefined;
      const version = typeof languageVersion === 'object' ? languageVersion.languageVersion : languageVersion;
      const key = `${version}:${fileName}`;
      let file = libFiles.get(key);
      if (file === undefined) {
        const text = ts.sys.readFile(fileName);
        if (text === undefined) return undefined;
        file = ts.createSourceFile(fileName, text, languageVersion);
        libFiles.set(key, file);
      }
      return file;
    },
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    getDefaultLibLocation: () => libDir,
    writeFile: () => undefined,
    getCurrentDirectory: () => VIRTUAL_DIR,
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (f) => f === root || (isLib(f) && ts.sys.fileExists(f)),
    readFile: (f) => (f === root ? code : isLib(f) ? ts.sys.readFile(f) : undefined),
    directoryExists: (d) => d === VIRTUAL_DIR || d === libDir,
    getDirectories: () => [],
    realpath: (p) => p,
  };
}

function cwdRelative(fileName: string): string {
  return relative(process.cwd(), fileName);
}

/** The first error (in tsc's order) as a BuildError, and how many errors there are in all. */
function report(
  ts: TypeScript,
  diagnostics: readonly TS.Diagnostic[],
  name: (fileName: string) => string,
  fallbackFile: string,
): TypecheckResult {
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  const first = errors[0];
  if (first === undefined) return { ok: true };
  // A chain ("Type X is not assignable to type Y. / Types of property ... are incompatible.") is
  // printed by tsc on indented lines; the CLI prints one line, so the parts are joined.
  let message = ts
    .flattenDiagnosticMessageText(first.messageText, '\n')
    .split('\n')
    .map((part) => part.trim())
    .join(' ');
  const more = errors.length - 1;
  if (more > 0) message += ` (and ${more} more error${more === 1 ? '' : 's'})`;
  if (first.file === undefined || first.start === undefined) {
    return { ok: false, error: { file: fallbackFile, line: 0, column: 0, message }, errors: errors.length };
  }
  const pos = first.file.getLineAndCharacterOfPosition(first.start);
  return {
    ok: false,
    error: { file: name(first.file.fileName), line: pos.line + 1, column: pos.character + 1, message },
    errors: errors.length,
  };
}
