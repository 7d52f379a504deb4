/**
 * `procyon native spawn|ps|wait-start|wait-exit|logs|evict|kill`: long-running procs of
 * native-driver functions, the SigmaOS lifecycle (docs/native-driver.md). Waits are long polls the
 * CLI repeats until its own `--timeout`. Their old spellings under `procyon proc` (where "proc"
 * also meant a process instance) still work for one release, hidden, with a note on stderr.
 */
import { Command } from 'commander';
import type { SpawnedInfo } from '../../procs/index.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, type Context } from '../context.js';
import { CliError } from '../errors.js';
import {
  bytes,
  durationOption,
  isoTime,
  keyValues,
  ms,
  nonNegativeInt,
  printJson,
  table,
} from '../output.js';
import { ioOf, note, say, type CliIo } from '../io.js';

/** One long poll; the API caps it at a minute. (ms) */
const POLL_MS = 30_000;

const psPath = (ctx: { nsPath: string }, name: string): string => `${ctx.nsPath}/ps/${seg(name)}`;

function exitText(p: SpawnedInfo): string {
  const e = p.exit;
  if (!e) return '-';
  const how = e.oomKilled ? 'out of memory' : e.signal ? e.signal : `code ${e.code}`;
  return `${e.reason} (${how})`;
}

function print(io: CliIo, p: SpawnedInfo): void {
  say(
    io,
    keyValues([
      ['proc', p.name],
      ['function', `${p.fn} (version ${p.version.slice(0, 8)})`],
      ['state', p.state],
      ['args', p.args.length ? p.args.join(' ') : '-'],
      ['endpoint', p.port === undefined ? '-' : `${p.name}:${p.port}`],
      ['started', isoTime(p.startedAt)],
      ['uptime', ms(p.uptimeMs)],
      ['memory', bytes(p.memoryBytes)],
      ['cpu', ms(p.cpuMs)],
      ['exit', exitText(p)],
      ['activation', p.activationId],
    ]),
  );
}

/** Repeats a wait until it answers or `timeoutMs` passes (then a 504, as the API gives). */
async function wait(
  ctx: Context,
  name: string,
  what: 'wait-start' | 'wait-exit',
  timeoutMs: number,
): Promise<SpawnedInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    try {
      const { data } = await ctx.client.json<SpawnedInfo>('POST', `${psPath(ctx, name)}/${what}`, {
        query: { timeout: Math.min(left, POLL_MS) },
        body: {},
      });
      return data;
    } catch (err) {
      if (!(err instanceof CliError && err.code === 'PROCYON_TIMEOUT') || Date.now() >= deadline) throw err;
    }
  }
}

/** The commands of `procyon native`, each built anew so that two trees can hold them. */
function spawnedCommands(): Command[] {
  const commands: Command[] = [];
  commands.push(
    withCommonOptions(new Command('spawn'))
      .description("start a native-driver function's program as a long-running proc")
      .argument('<function>', 'a function deployed with --runtime')
      .argument('[args...]', 'arguments for the program (after --)')
      .option('--name <name>', 'its name in the namespace (default: <function>-<random>)')
      .option(
        '--main <file>',
        "a file of the artifact to run (default: the handler's module, or ./bootstrap)",
      )
      .option('--port <port>', 'a TCP port it listens on, published under its name', nonNegativeInt('--port'))
      .option('--wait', 'return once it runs (its port accepts connections, if it has one)')
      .action(
        async (
          fn: string,
          args: string[],
          opts: { name?: string; main?: string; port?: number; wait?: boolean },
          cmd: Command,
        ) => {
          const ctx = contextFor(cmd);
          let { data } = await ctx.client.json<SpawnedInfo>(
            'POST',
            `${ctx.nsPath}/functions/${seg(fn)}/spawn`,
            {
              body: {
                args,
                ...(opts.name ? { name: opts.name } : {}),
                ...(opts.main ? { main: opts.main } : {}),
                ...(opts.port ? { port: opts.port } : {}),
              },
            },
          );
          if (opts.wait) data = await wait(ctx, data.name, 'wait-start', 60_000);
          if (ctx.json) return printJson(ctx.io, data);
          say(ctx.io, `Spawned ${data.name} (${data.state})`);
        },
      ),
  );

  commands.push(
    withCommonOptions(new Command('ps'))
      .description('list long-running procs: state, uptime, memory, CPU, exit')
      .option('--function <function>', 'only procs of this function')
      .action(async (opts: { function?: string }, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ procs: SpawnedInfo[] }>('GET', `${ctx.nsPath}/ps`, {
          query: { fn: opts.function },
        });
        if (ctx.json) return printJson(ctx.io, data);
        if (data.procs.length === 0) return say(ctx.io, 'No long-running procs.');
        say(
          ctx.io,
          table(
            ['NAME', 'FUNCTION', 'STATE', 'UPTIME', 'MEMORY', 'CPU', 'EXIT'],
            data.procs.map((p) => [
              p.name,
              p.fn,
              p.state,
              ms(p.uptimeMs),
              bytes(p.memoryBytes),
              ms(p.cpuMs),
              exitText(p),
            ]),
          ),
        );
      }),
  );

  for (const what of ['wait-start', 'wait-exit'] as const) {
    commands.push(
      withCommonOptions(new Command(what))
        .description(
          what === 'wait-start'
            ? 'wait until a long-running proc runs'
            : 'wait until a long-running proc exits; exits with its exit code',
        )
        .argument('<name>', 'proc name')
        .option(
          '--timeout <duration>',
          'give up after this long: 30s, 10m or ms (default 10m)',
          durationOption('--timeout'),
        )
        .action(async (name: string, opts: { timeout?: number }, cmd: Command) => {
          const ctx = contextFor(cmd);
          const data = await wait(ctx, name, what, opts.timeout ?? 600_000);
          if (ctx.json) printJson(ctx.io, data);
          else print(ctx.io, data);
          if (what === 'wait-exit' && data.exit) ctx.io.exitCode = data.exit.code ?? 1;
        }),
    );
  }

  commands.push(
    withCommonOptions(new Command('kill'))
      .description('SIGKILL a long-running proc and everything it started')
      .argument('<name>', 'proc name')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<SpawnedInfo>('POST', `${psPath(ctx, name)}/kill`, {
          body: {},
        });
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Killing ${name}`);
      }),
  );

  commands.push(
    withCommonOptions(new Command('logs'))
      .description("the tail of a long-running proc's stdout and stderr")
      .argument('<name>', 'proc name')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{
          lines: { ts: number; level: string; msg: string }[];
          dropped: number;
        }>('GET', `${psPath(ctx, name)}/logs`);
        if (ctx.json) return printJson(ctx.io, data);
        if (data.dropped) say(ctx.io, `[${data.dropped} earlier line(s) dropped]`);
        for (const l of data.lines) say(ctx.io, `${isoTime(l.ts)} ${l.level.padEnd(5)} ${l.msg}`);
      }),
  );
  commands.push(
    withCommonOptions(new Command('evict'))
      .description('stop a long-running proc: SIGTERM, then SIGKILL after --grace')
      .argument('<name>', 'proc name')
      .option(
        '--grace <duration>',
        'time between SIGTERM and SIGKILL (default 10s)',
        durationOption('--grace'),
      )
      .action(async (name: string, opts: { grace?: number }, cmd: Command) =>
        evictSpawned(contextFor(cmd), name, opts.grace),
      ),
  );
  return commands;
}

/** `procyon native ...`: long-running procs of native-driver functions. */
export function nativeCommand(): Command {
  const native = new Command('native').description(
    'long-running procs of native-driver functions (spawn, ps, wait-start, wait-exit, logs, evict, kill)',
  );
  for (const cmd of spawnedCommands()) native.addCommand(cmd);
  return native;
}

/** Writes the one-line note an old spelling prints, on stderr so that `--json` output stays clean. */
export function deprecationNote(cmd: Command, old: string, now: string): void {
  note(ioOf(cmd), `procyon: note: "procyon ${old}" is deprecated; use "procyon ${now}"`);
}

/**
 * The old spellings `procyon proc spawn|ps|...`, kept for one release: hidden from `proc --help`,
 * each notes its new name before it runs. (`proc evict <name>` is handled by `proc evict` itself.)
 */
export function addDeprecatedSpawnedCommands(proc: Command): void {
  for (const cmd of spawnedCommands()) {
    if (cmd.name() === 'evict') continue;
    cmd.hook('preAction', () => deprecationNote(cmd, `proc ${cmd.name()}`, `native ${cmd.name()}`));
    proc.addCommand(cmd, { hidden: true });
  }
}

/** `procyon native evict <name> [--grace]`: the cooperative stop of a long-running proc. */
export async function evictSpawned(ctx: Context, name: string, graceMs: number | undefined): Promise<void> {
  const { data } = await ctx.client.json<SpawnedInfo>('POST', `${psPath(ctx, name)}/evict`, {
    body: graceMs === undefined ? {} : { graceMs },
  });
  if (ctx.json) return printJson(ctx.io, data);
  say(ctx.io, `Evicting ${name}: SIGTERM sent${graceMs === 0 ? '' : ', SIGKILL after the grace period'}`);
}
