/**
 * `procyon deploy <file>`: bundle and type-check locally (so build and type errors never reach the
 * node), then PUT the one module with the function's whole configuration. Routes and vars not given
 * are cleared: a deploy describes the function completely, which keeps redeploys from a script
 * reproducible.
 */
import { Command } from 'commander';
import { basename, extname } from 'node:path';
import { bundleEntry, formatBuildError, typecheckEntry } from '../../build/index.js';
import type { DeployBody, DeployResponse } from '../../api/types.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { CliError, usageError } from '../errors.js';
import { positiveInt, printJson, shortId } from '../output.js';

const NAME_RE = /^[a-z0-9][a-z0-9-_]{0,62}$/;
const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface DeployOptions {
  name?: string;
  route?: string[];
  memory?: number;
  timeout?: number;
  var?: Record<string, string>;
  /** false with --no-check. */
  check: boolean;
}

export function deployCommand(): Command {
  return withCommonOptions(new Command('deploy'))
    .description(
      'bundle a .ts/.js entry file with its imports, type-check TypeScript, and deploy it as a function',
    )
    .argument('<file>', 'entry module exporting default { fetch } or handler')
    .option('--name <name>', 'function name (default: the file name without extension)')
    .option('--route <route>', 'route such as "GET /hello" or "/items/:id" (repeatable)', collect)
    .option('--memory <mb>', 'memory limit in MB, 16..2048 (node default: 128)', positiveInt('--memory'))
    .option(
      '--timeout <ms>',
      'time limit per call in ms, 10..900000 (node default: 10000)',
      positiveInt('--timeout'),
    )
    .option('--var <KEY=VALUE>', 'plain string binding on env (repeatable)', parseVar)
    .option(
      '--no-check',
      'deploy without type-checking a TypeScript entry (the check uses the nearest tsconfig.json, else strict ES2022 + WebWorker types)',
    )
    .addHelpText('after', '\nExample: procyon deploy hello.ts --route "GET /hello" --var GREETING=hi')
    .action(async (file: string, opts: DeployOptions, cmd: Command) => {
      const ctx = contextFor(cmd);
      const name = opts.name ?? defaultName(file);
      if (!NAME_RE.test(name)) {
        const fix =
          opts.name === undefined ? `; pass --name, the file name "${basename(file)}" does not make one` : '';
        throw usageError(`invalid function name "${name}": use 1-63 lowercase letters, digits, - or _${fix}`);
      }
      const built = await bundleEntry(file);
      if (!built.ok) throw new CliError(formatBuildError(built.error), { code: 'PROCYON_BUILD_FAILED' });
      // After bundling: esbuild's messages for syntax errors and unresolvable or Node built-in imports
      // say more than tsc's. The node does not check again: it receives JavaScript.
      if (opts.check) {
        const checked = await typecheckEntry(file);
        if (!checked.ok)
          throw new CliError(formatBuildError(checked.error), { code: 'PROCYON_BUILD_FAILED' });
      }
      const body: DeployBody = {
        code: built.code,
        // The bundle is JavaScript whatever the entry was; the node picks its loader from this name.
        filename: `${basename(file, extname(file))}.js`,
        routes: opts.route ?? [],
        vars: opts.var ?? {},
      };
      if (opts.memory !== undefined) body.memory = opts.memory;
      if (opts.timeout !== undefined) body.timeout = opts.timeout;
      const { status, data } = await ctx.client.json<DeployResponse>(
        'PUT',
        `${ctx.nsPath}/functions/${seg(name)}`,
        {
          body,
        },
      );
      if (ctx.json) {
        printJson(data);
        return;
      }
      const what = status === 201 ? 'new' : data.changed ? 'changed' : 'unchanged';
      console.log(`Deployed ${data.function.name} version ${shortId(data.version.id)} (${what})`);
      for (const u of data.function.urls) console.log(absolute(ctx.client.url, u));
    });
}

/** `hello.ts` -> `hello`; lowercased since names are lowercase. */
export function defaultName(file: string): string {
  return basename(file, extname(file)).toLowerCase();
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseVar(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  const key = eq > 0 ? value.slice(0, eq) : '';
  if (!VAR_RE.test(key))
    throw usageError(`invalid --var "${value}"; expected KEY=VALUE with KEY like MY_VAR`);
  return { ...previous, [key]: value.slice(eq + 1) };
}

function absolute(base: string, u: string): string {
  return /^https?:\/\//.test(u) ? u : new URL(u, `${base}/`).href;
}
