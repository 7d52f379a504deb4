/**
 * `procyon deploy [file]`: bundle and type-check locally (so build and type errors never reach the
 * node), then PUT the one module with the function's whole configuration: the manifest next to the
 * entry (procyon.json / procyon.toml, src/manifest) with flags on top. Routes, vars and bindings
 * given nowhere are cleared: a deploy describes the function completely, which keeps redeploys
 * reproducible. The same goes for scaling: fields given nowhere take the node's defaults.
 */
import { Command } from 'commander';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { readManifest, type FunctionManifest } from '../../manifest/index.js';
import { bundleEntry, formatBuildError, typecheckEntry, type BuildError } from '../../build/index.js';
import type { DeployBody, DeployResponse } from '../../api/index.js';
import type { ScalingConfig } from '../../sandbox/index.js';
import { seg } from '../client.js';
import { CLASS_NAME_RE } from '../../names.js';
import { contextFor, withCommonOptions } from '../context.js';
import { CliError, usageError } from '../errors.js';
import { parseRuntime, readProgram, type Runtime } from './deploy-program.js';
import { durationOption, nonNegativeInt, positiveInt, printJson, shortId } from '../output.js';
import { say } from '../io.js';

const NAME_RE = /^[a-z0-9][a-z0-9-_]{0,62}$/;
const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface DeployOptions {
  name?: string;
  route?: string[];
  memory?: number;
  timeout?: number;
  var?: Record<string, string>;
  kv?: Record<string, string>;
  service?: Record<string, string>;
  egressAllow?: string[];
  concurrency?: number;
  minInstances?: number;
  maxInstances?: number;
  /** (ms) */
  keepAlive?: number;
  /** Deploy this export as a process class. */
  process?: string;
  runtime?: Runtime;
  handler?: string;
  network?: boolean;
  /** false with --no-check. */
  check: boolean;
}

export function deployCommand(): Command {
  return withCommonOptions(new Command('deploy'))
    .description(
      'bundle a .ts/.js entry file with its imports, type-check TypeScript, and deploy it as a function',
    )
    .argument('[file]', "entry module exporting default { fetch } or handler (default: the manifest's main)")
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
      '--kv <BINDING=NAMESPACE>',
      'KV namespace on env.BINDING (repeatable; created on first write)',
      parseBinding('--kv'),
    )
    .option(
      '--service <BINDING=FUNCTION>',
      'another function on env.BINDING, called with .fetch() (repeatable)',
      parseBinding('--service'),
    )
    .option(
      '--egress-allow <host>',
      'let fetch() reach this host or host:port even if private (repeatable)',
      collect,
    )
    .option(
      '--concurrency <n>',
      'calls one isolate takes at once, 1..1000 (node default: 1)',
      positiveInt('--concurrency'),
    )
    .option(
      '--min-instances <n>',
      'isolates kept warm with no traffic, 0..100 (node default: 0)',
      nonNegativeInt('--min-instances'),
    )
    .option(
      '--max-instances <n>',
      'most isolates of this version on the node, 1..1000 (node default: PROCYON_MAX_PROCS_PER_VERSION)',
      positiveInt('--max-instances'),
    )
    .option(
      '--keep-alive <duration>',
      'how long idle isolates stay warm: 30s, 10m, 1h or ms; 1s..24h (node default: PROCYON_KEEP_ALIVE_MS)',
      parseKeepAlive,
    )
    .option(
      '--process <Class>',
      'deploy this exported class as a process class (named like the class unless --name is given)',
    )
    .option(
      '--runtime <runtime>',
      'run a directory, .zip or .tar.gz as a native-driver function: nodejs, python3 or custom (its own ./bootstrap)',
      parseRuntime,
    )
    .option('--handler <file.function>', 'the handler of a nodejs or python3 function, e.g. index.handler')
    .option('--network', "let a native-driver function's sandbox reach the network (egress policy applies)")
    .option(
      '--no-check',
      'deploy without type-checking a TypeScript entry (the check uses the nearest tsconfig.json, else strict ES2022 + WebWorker types)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  procyon deploy hello.ts --route "GET /hello" --var GREETING=hi\n  procyon deploy ./thumbnailer --runtime python3 --handler app.handler',
    )
    .action(async (fileArg: string | undefined, opts: DeployOptions, cmd: Command) => {
      const ctx = contextFor(cmd);
      const { file, manifest } = await locate(
        fileArg === undefined ? undefined : resolve(ctx.io.cwd, fileArg),
        opts.name,
        ctx.io.cwd,
      );
      const className = opts.process ?? manifest?.process;
      const name = opts.name ?? manifest?.name ?? className ?? defaultName(file);
      if (className !== undefined) {
        if (!CLASS_NAME_RE.test(className) || !CLASS_NAME_RE.test(name))
          throw usageError(
            `invalid process class name "${CLASS_NAME_RE.test(className) ? name : className}": a letter, then up to 62 letters, digits or _`,
          );
      } else if (!NAME_RE.test(name)) {
        const fix =
          opts.name === undefined ? `; pass --name, the file name "${basename(file)}" does not make one` : '';
        throw usageError(`invalid function name "${name}": use 1-63 lowercase letters, digits, - or _${fix}`);
      }
      const runtime = opts.runtime ?? manifest?.runtime;
      const body: DeployBody = {
        ...(runtime === undefined
          ? await moduleFields(file, opts.check, ctx.io.cwd)
          : { runtime, artifact: await readProgram(file) }),
        routes: opts.route ?? manifest?.routes ?? [],
        vars: { ...manifest?.vars, ...opts.var },
        kv: { ...manifest?.kv, ...opts.kv },
        services: { ...manifest?.services, ...opts.service },
      };
      const allow = [...(manifest?.egress?.allow ?? []), ...(opts.egressAllow ?? [])];
      if (allow.length) body.egress = { allow };
      const memory = opts.memory ?? manifest?.memory;
      const timeout = opts.timeout ?? manifest?.timeout;
      if (memory !== undefined) body.memory = memory;
      if (timeout !== undefined) body.timeout = timeout;
      const scaling = scalingFrom(manifest?.scaling, opts);
      if (Object.keys(scaling).length) body.scaling = scaling;
      if (className !== undefined) body.process = { className };
      const handler = opts.handler ?? manifest?.handler;
      if (handler !== undefined) body.handler = handler;
      if (opts.network ?? manifest?.network) body.network = true;
      const { status, data } = await ctx.client.json<DeployResponse>(
        'PUT',
        `${ctx.nsPath}/functions/${seg(name)}`,
        {
          body,
        },
      );
      if (ctx.json) {
        printJson(ctx.io, data);
        return;
      }
      const what = status === 201 ? 'new' : data.changed ? 'changed' : 'unchanged';
      say(ctx.io, `Deployed ${data.function.name} version ${shortId(data.version.id)} (${what})`);
      for (const u of data.function.urls) say(ctx.io, absolute(ctx.client.url, u));
    });
}

/** A module for the isolate driver: bundled and (unless `--no-check`) type-checked here. */
async function moduleFields(
  file: string,
  check: boolean,
  cwd: string,
): Promise<Pick<DeployBody, 'code' | 'filename'>> {
  // The builders name files relative to this process's directory; the user's is `cwd` (the same
  // unless the CLI runs in-process, as in tests).
  const failed = (e: BuildError): CliError =>
    new CliError(formatBuildError({ ...e, file: relative(cwd, resolve(e.file)) }), {
      code: 'PROCYON_BUILD_FAILED',
    });
  const built = await bundleEntry(file);
  if (!built.ok) throw failed(built.error);
  // After bundling: esbuild's messages for syntax errors and unresolvable or Node built-in imports
  // say more than tsc's. The node does not check again: it receives JavaScript.
  if (check) {
    const checked = await typecheckEntry(file);
    if (!checked.ok) throw failed(checked.error);
  }
  // The bundle is JavaScript whatever the entry was; the node picks its loader from this name.
  return { code: built.code, filename: `${basename(file, extname(file))}.js` };
}

/**
 * The entry file and its manifest entry. With a file: the manifest in its folder, the entry whose
 * `main` is that file (or whose name is `--name`). Without: the manifest in the current folder,
 * which must then name one function (or `--name` picks one).
 */
async function locate(
  fileArg: string | undefined,
  name: string | undefined,
  cwd: string,
): Promise<{ file: string; manifest: FunctionManifest | undefined }> {
  const dir = fileArg === undefined ? cwd : dirname(fileArg);
  let found: Awaited<ReturnType<typeof readManifest>>;
  try {
    found = await readManifest(dir);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const fns = found?.functions ?? [];
  const entryName = (f: FunctionManifest): string => f.name ?? defaultName(f.main);
  if (fileArg !== undefined) {
    const abs = resolve(fileArg);
    const manifest =
      fns.find((f) => resolve(dir, f.main) === abs && (name === undefined || entryName(f) === name)) ??
      (name === undefined ? undefined : fns.find((f) => entryName(f) === name));
    return { file: fileArg, manifest };
  }
  if (!found)
    throw usageError('no file given and no procyon.json or procyon.toml here; run: procyon deploy <file>');
  const candidates = name === undefined ? fns : fns.filter((f) => entryName(f) === name);
  const [manifest] = candidates;
  if (!manifest || candidates.length > 1) {
    throw usageError(`${found.file} lists ${fns.length} functions; pick one with --name or give the file`);
  }
  return { file: join(dir, manifest.main), manifest };
}

/** `hello.ts` -> `hello`; lowercased since names are lowercase. */
export function defaultName(file: string): string {
  return basename(file, extname(file)).toLowerCase();
}

/** The manifest's scaling with each flag given on top of its field. */
function scalingFrom(manifest: ScalingConfig | undefined, opts: DeployOptions): ScalingConfig {
  const flags = {
    concurrency: opts.concurrency,
    minInstances: opts.minInstances,
    maxInstances: opts.maxInstances,
    keepAliveMs: opts.keepAlive,
  };
  return { ...manifest, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
}

/** `--keep-alive`: a duration (`30s`, `10m`, `1h`) or a plain number of ms. The node checks the range. */
export const parseKeepAlive = durationOption('--keep-alive');

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

function parseBinding(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf('=');
    const key = eq > 0 ? value.slice(0, eq) : '';
    const target = value.slice(eq + 1);
    if (!VAR_RE.test(key) || !NAME_RE.test(target)) {
      throw usageError(`invalid ${flag} "${value}"; expected BINDING=name, e.g. ${flag} STORE=my-store`);
    }
    return { ...previous, [key]: target };
  };
}
