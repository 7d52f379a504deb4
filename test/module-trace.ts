// Which modules a node process loads, for tests that keep heavy or native dependencies off a path
// (the CLI's start, loading the config). A resolve hook (node:module register) appends every URL
// the process resolves to a file. Packages our ES modules import are all seen; what a CommonJS
// package requires internally is not, which is enough to tell whether the package itself loaded.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TracedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every module URL resolved, in order (`file:`, `node:`). */
  urls: string[];
}

/** Runs `node <args>` to completion with the resolve hook in place. */
export async function traceModules(args: string[]): Promise<TracedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'procyon-trace-'));
  try {
    const trace = join(dir, 'trace.txt');
    const hooks = join(dir, 'hooks.mjs');
    const register = join(dir, 'register.mjs');
    await writeFile(trace, '');
    await writeFile(
      hooks,
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function resolve(specifier, context, next) {',
        '  const resolved = await next(specifier, context);',
        `  appendFileSync(${JSON.stringify(trace)}, resolved.url + '\\n');`,
        '  return resolved;',
        '}',
      ].join('\n'),
    );
    await writeFile(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const urls = (await readFile(trace, 'utf8')).split('\n').filter((line) => line !== '');
    return { code, stdout, stderr, urls };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The URLs of `run` that are inside the npm package `name`. */
export function packageUrls(run: TracedRun, name: string): string[] {
  return run.urls.filter((url) => url.includes(`/node_modules/${name}/`));
}
