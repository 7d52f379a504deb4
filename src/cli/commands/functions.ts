/** `procyon list | get | versions | delete`: read and remove functions in a namespace. */
import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { FunctionInfo, VersionInfo } from '../../api/index.js';
import type { ScalingConfig } from '../../sandbox/index.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { CliError, usageError } from '../errors.js';
import { bytes, keyValues, printJson, shortId, table } from '../output.js';
import { say, type CliIo } from '../io.js';

export function listCommand(): Command {
  return withCommonOptions(new Command('list'))
    .description('list the functions in a namespace')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFor(cmd);
      const { data } = await ctx.client.json<{ functions: FunctionInfo[] }>('GET', `${ctx.nsPath}/functions`);
      if (ctx.json) return printJson(ctx.io, data);
      if (data.functions.length === 0) return say(ctx.io, `No functions in namespace "${ctx.namespace}".`);
      say(
        ctx.io,
        table(
          ['NAME', 'STYLE', 'VERSION', 'MEMORY', 'TIMEOUT', 'ROUTES', 'UPDATED'],
          data.functions.map((f) => [
            f.name,
            f.runtime ? `${f.style} (${f.runtime.name})` : f.style,
            shortId(f.latest),
            `${f.memory}MB`,
            `${f.timeout}ms`,
            f.routes.join(', '),
            f.updatedAt,
          ]),
        ),
      );
    });
}

export function getCommand(): Command {
  return withCommonOptions(new Command('get'))
    .description("show a function's configuration and URLs")
    .argument('<name>', 'function name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = contextFor(cmd);
      const { data: f } = await ctx.client.json<FunctionInfo>('GET', `${ctx.nsPath}/functions/${seg(name)}`);
      if (ctx.json) return printJson(ctx.io, f);
      say(
        ctx.io,
        keyValues([
          ['name', f.name],
          ['namespace', f.namespace],
          ['style', f.process ? `process (class ${f.process.className})` : f.style],
          ...(f.runtime
            ? ([
                ['runtime', `${f.runtime.name}${f.runtime.handler ? ` (${f.runtime.handler})` : ''}`],
                ['artifact', `sha256:${f.runtime.artifact.slice(0, 16)}…`],
                ['network', f.runtime.network ? 'through the egress proxy' : 'none'],
              ] as [string, string][])
            : []),
          ['version', f.latest],
          ['memory', `${f.memory}MB`],
          ['timeout', `${f.timeout}ms`],
          ['routes', f.routes.join(', ')],
          ['scaling', scalingText(f.scaling ?? {})],
          ['vars', Object.keys(f.vars).join(', ')],
          ['secrets', (f.secrets ?? []).join(', ')],
          [
            'kv',
            Object.entries(f.kv ?? {})
              .map(([b, n]) => `${b} → ${n}`)
              .join(', '),
          ],
          [
            'services',
            Object.entries(f.services ?? {})
              .map(([b, n]) => `${b} → ${n}`)
              .join(', '),
          ],
          ['created', f.createdAt],
          ['updated', f.updatedAt],
          ['urls', f.urls.join('\n' + ' '.repeat(11))],
        ]),
      );
    });
}

export function versionsCommand(): Command {
  return withCommonOptions(new Command('versions'))
    .description("list a function's versions, newest first (* marks the one it runs)")
    .argument('<name>', 'function name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = contextFor(cmd);
      const path = `${ctx.nsPath}/functions/${seg(name)}`;
      const [{ data }, { data: fn }] = await Promise.all([
        ctx.client.json<{ versions: VersionInfo[] }>('GET', `${path}/versions`),
        ctx.client.json<FunctionInfo>('GET', path),
      ]);
      if (ctx.json) return printJson(ctx.io, data);
      say(
        ctx.io,
        table(
          ['', 'VERSION', 'CREATED', 'MEMORY', 'TIMEOUT', 'SIZE', 'ROUTES'],
          data.versions.map((v) => [
            v.id === fn.latest ? '*' : ' ',
            v.id,
            v.createdAt,
            `${v.memory}MB`,
            `${v.timeout}ms`,
            bytes(v.size),
            v.routes.join(', '),
          ]),
        ),
      );
    });
}

export function deleteCommand(): Command {
  return withCommonOptions(new Command('delete'))
    .description('delete a function and all its versions (waits for in-flight calls)')
    .argument('<name>', 'function name')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (name: string, opts: { yes?: boolean }, cmd: Command) => {
      const ctx = contextFor(cmd);
      if (!opts.yes) {
        if (!ctx.io.stdin.isTTY)
          throw usageError(`refusing to delete "${name}" without confirmation; pass --yes`);
        if (!(await confirm(ctx.io, `Delete function "${name}" in namespace "${ctx.namespace}"? [y/N] `))) {
          throw new CliError('aborted; nothing was deleted');
        }
      }
      const { data } = await ctx.client.json<{ deleted: boolean; name: string }>(
        'DELETE',
        `${ctx.nsPath}/functions/${seg(name)}`,
      );
      if (ctx.json) return printJson(ctx.io, data);
      say(ctx.io, `Deleted ${data.name}`);
    });
}

/** `concurrency 10, min 1, max 4, keep-alive 30s`: what was set; the node's defaults for the rest. */
export function scalingText(s: ScalingConfig): string {
  const parts = [
    s.concurrency === undefined ? '' : `concurrency ${s.concurrency}`,
    s.minInstances === undefined ? '' : `min ${s.minInstances}`,
    s.maxInstances === undefined ? '' : `max ${s.maxInstances}`,
    s.keepAliveMs === undefined ? '' : `keep-alive ${duration(s.keepAliveMs)}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'node defaults';
}

/** The largest whole unit: 30000 → `30s`, 3600000 → `1h`, 1500 → `1500ms`. */
function duration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
