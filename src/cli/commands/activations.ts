/** `procyon activations` (the list) and `procyon activation <id>` (one, with its logs). */
import { Command, Option } from 'commander';
import type { Activation, LogEntry } from '../../api/index.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { isoTime, keyValues, ms, parseSince, positiveInt, printJson, shortId, table } from '../output.js';
import { say } from '../io.js';

interface ListOptions {
  fn?: string;
  status?: 'success' | 'error';
  since?: string;
  limit?: number;
}

export function activationsCommand(): Command {
  return withCommonOptions(new Command('activations'))
    .description('list recent activations (calls), newest first')
    .option('--fn <name>', 'only this function')
    .addOption(new Option('--status <status>', 'only this outcome').choices(['success', 'error']))
    .option('--since <time>', 'only activations started after this: ISO time or 30s/10m/1h/2d ago')
    .option('--limit <n>', 'at most this many (default: set by the node)', positiveInt('--limit'))
    .addHelpText('after', '\nShow one activation with its logs: procyon activation <id>')
    .action(async (opts: ListOptions, cmd: Command) => {
      const ctx = contextFor(cmd);
      const { data } = await ctx.client.json<{ activations: Activation[] }>(
        'GET',
        `${ctx.nsPath}/activations`,
        {
          query: {
            fn: opts.fn,
            status: opts.status,
            since: opts.since === undefined ? undefined : parseSince(opts.since),
            limit: opts.limit,
          },
        },
      );
      if (ctx.json) return printJson(ctx.io, data);
      if (data.activations.length === 0) return say(ctx.io, 'No activations.');
      say(
        ctx.io,
        table(
          ['ID', 'FUNCTION', 'VERSION', 'START', 'DURATION', 'BILLED', 'COLD', 'STATUS', 'ERROR'],
          data.activations.map((a) => [
            a.id,
            // A process instance's activations read Class/name.
            a.instance ? `${a.function}/${a.instance}` : a.function,
            shortId(a.version),
            a.start,
            ms(a.durationMs),
            ms(a.billedMs),
            a.cold,
            a.status,
            a.errorCode,
          ]),
        ),
      );
    });
}

export function activationCommand(): Command {
  return withCommonOptions(new Command('activation'))
    .description('show one activation with its logs')
    .argument('<id>', 'activation id (as printed by activations, invoke --verbose or logs)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = contextFor(cmd);
      const { data: a } = await ctx.client.json<Activation>('GET', `${ctx.nsPath}/activations/${seg(id)}`);
      if (ctx.json) return printJson(ctx.io, a);
      say(
        ctx.io,
        keyValues([
          ['id', a.id],
          ['function', `${a.namespace}/${a.function}${a.instance ? ` (instance ${a.instance})` : ''}`],
          ['version', a.version],
          ['trigger', a.trigger],
          ['start', a.start],
          ['duration', ms(a.durationMs)],
          ['billed', `${ms(a.billedMs)} at ${a.memoryMb}MB = ${a.gbSeconds} GB-s`],
          ['cpu', ms(a.cpuMs)],
          ['cold', a.cold],
          ['status', a.status],
          ['error', a.errorCode],
        ]),
      );
      const logs = a.logs ?? [];
      say(ctx.io, logs.length === 0 ? '\nNo log lines.' : '\nLogs:');
      for (const l of logs) for (const line of logLines(l)) say(ctx.io, `  ${line}`);
      if (a.logsTruncated) say(ctx.io, '  (truncated: the function logged more than the node keeps)');
    });
}

/**
 * `<ISO ts> <level> <msg>`, one output line per line of the message so every line carries its time
 * and level (grep stays useful on multi-line messages and stack traces).
 */
export function logLines(l: LogEntry, prefix = ''): string[] {
  const head = `${isoTime(l.ts)} ${prefix}${l.level.padEnd(5)}`;
  return l.msg.split('\n').map((line) => `${head} ${line}`.trimEnd());
}
