/**
 * `procyon proc ls|get|evict|delete|call|send`: process instances (docs/processes.md), and only
 * them. Messages are JSON on the command line; `call` prints the instance's reply as JSON.
 * Long-running procs of native-driver functions are `procyon native` (spawned.ts); their old
 * spellings here (`proc spawn`, `proc ps`, `proc evict <name>`, ...) still work, with a note.
 */
import { Command, Option } from 'commander';
import type { InstanceInfo } from '../../procs/index.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { usageError } from '../errors.js';
import { bytes, durationOption, isoTime, keyValues, printJson, table } from '../output.js';
import { addDeprecatedSpawnedCommands, deprecationNote, evictSpawned } from './spawned.js';
import { say } from '../io.js';

const instancePath = (ctx: { nsPath: string }, className: string, name: string): string =>
  `${ctx.nsPath}/procs/${seg(className)}/${seg(name)}`;

function parseMessage(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError(`the message must be JSON: ${(err as Error).message}`);
  }
}

function rows(procs: InstanceInfo[]): string {
  return table(
    ['CLASS', 'NAME', 'STATE', 'LAST-ACTIVE', 'STORAGE', 'MEMORY', 'ALARM'],
    procs.map((p) => [
      p.className,
      p.name,
      p.state,
      isoTime(p.lastActiveAt),
      bytes(p.storageBytes),
      p.state === 'active' ? bytes(p.memoryBytes) : '-',
      p.alarmAt === null ? '-' : isoTime(p.alarmAt),
    ]),
  );
}

/** A subcommand on one instance: `<Class> <name>` plus `extra` arguments. */
function onInstance(name: string, description: string): Command {
  return withCommonOptions(new Command(name))
    .description(description)
    .argument('<Class>', 'process class')
    .argument('<name>', 'instance name');
}

export function procCommand(): Command {
  const proc = new Command('proc').description(
    'stateful process instances: list, inspect, message, evict, delete (long-running procs: procyon native)',
  );
  addDeprecatedSpawnedCommands(proc);

  proc.addCommand(
    withCommonOptions(new Command('ls'))
      .description('list instances: active or swapped out, last activity, storage, memory, alarm')
      .option('--class <Class>', 'only instances of this class')
      .action(async (opts: { class?: string }, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ procs: InstanceInfo[] }>('GET', `${ctx.nsPath}/procs`, {
          query: { class: opts.class },
        });
        if (ctx.json) return printJson(ctx.io, data);
        if (data.procs.length === 0) return say(ctx.io, 'No process instances.');
        say(ctx.io, rows(data.procs));
      }),
  );

  proc.addCommand(
    onInstance('get', 'show one instance').action(
      async (className: string, name: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<InstanceInfo>('GET', instancePath(ctx, className, name));
        if (ctx.json) return printJson(ctx.io, data);
        say(
          ctx.io,
          keyValues([
            ['instance', `${data.className}/${data.name}`],
            ['state', data.state],
            ['created', isoTime(data.createdAt)],
            ['last active', isoTime(data.lastActiveAt)],
            ['storage', bytes(data.storageBytes)],
            ['memory', data.state === 'active' ? bytes(data.memoryBytes) : '-'],
            ['alarm', data.alarmAt === null ? '-' : isoTime(data.alarmAt)],
          ]),
        );
      },
    ),
  );

  proc.addCommand(
    withCommonOptions(new Command('evict'))
      .description('swap a process instance out now (its storage stays)')
      .argument('<Class>', 'process class')
      // Optional only for the deprecated one-argument form, `proc evict <long-running proc>`.
      .argument('[name]', 'instance name')
      .addOption(
        new Option('--grace <duration>', 'deprecated form only')
          .argParser(durationOption('--grace'))
          .hideHelp(),
      )
      .action(async (className: string, name: string | undefined, opts: { grace?: number }, cmd: Command) => {
        const ctx = contextFor(cmd);
        if (name === undefined) {
          deprecationNote(cmd, 'proc evict <proc>', 'native evict <proc>');
          return evictSpawned(ctx, className, opts.grace);
        }
        const { data } = await ctx.client.json<{ evicted: boolean }>(
          'POST',
          `${instancePath(ctx, className, name)}/evict`,
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, data.evicted ? `Evicted ${className}/${name}` : `${className}/${name} was not active`);
      }),
  );

  proc.addCommand(
    onInstance('delete', 'evict the instance and delete its storage and alarm').action(
      async (className: string, name: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ deleted: boolean }>(
          'DELETE',
          instancePath(ctx, className, name),
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Deleted ${className}/${name}`);
      },
    ),
  );

  proc.addCommand(
    onInstance('call', 'send a JSON message to onMessage() and print its reply')
      .argument('<json>', 'the message, as JSON')
      .action(async (className: string, name: string, json: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const message = parseMessage(json);
        const { data } = await ctx.client.json<{ reply: unknown; activationId: string }>(
          'POST',
          `${instancePath(ctx, className, name)}/call`,
          { body: { message } },
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, JSON.stringify(data.reply, null, 2));
      }),
  );

  proc.addCommand(
    onInstance('send', 'send a JSON message to onMessage() without waiting for it to run')
      .argument('<json>', 'the message, as JSON')
      .action(async (className: string, name: string, json: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const message = parseMessage(json);
        const { data } = await ctx.client.json<{ accepted: boolean; id: string }>(
          'POST',
          `${instancePath(ctx, className, name)}/send`,
          { body: { message } },
        );
        if (ctx.json) return printJson(ctx.io, data);
        // Stored on the node before this answer: delivered even if the node dies (docs/processes.md).
        say(ctx.io, `Sent to ${className}/${name} (message ${data.id})`);
      }),
  );
  return proc;
}
