/**
 * `procyon secret put|list|delete`: a function's secrets. The value is read from stdin (piped or
 * typed without echo), never from a flag, so it stays out of shell history and `ps`.
 */
import { Command } from 'commander';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { usageError } from '../errors.js';
import { printJson, table } from '../output.js';
import { say, type CliIo } from '../io.js';

interface FnOption {
  fn: string;
}

async function readValue(io: CliIo, name: string): Promise<string> {
  const stdin = io.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    // A trailing newline from `echo` is not part of the secret.
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  io.stderr.write(`Value for ${name} (input hidden): `);
  stdin.setRawMode?.(true);
  stdin.resume();
  let value = '';
  try {
    for await (const chunk of stdin) {
      for (const ch of (chunk as Buffer).toString('utf8')) {
        if (ch === '\r' || ch === '\n') return value;
        if (ch === '\u0003') throw usageError('cancelled');
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    }
    return value;
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}

const withFn = (cmd: Command): Command =>
  cmd.requiredOption('--fn <function>', 'the function the secret belongs to');

export function secretCommand(): Command {
  const secret = new Command('secret').description(
    "manage a function's secrets (encrypted at rest, never shown again)",
  );

  secret.addCommand(
    withFn(withCommonOptions(new Command('put')))
      .description('set a secret from stdin: echo -n "$TOKEN" | procyon secret put TOKEN --fn api')
      .argument('<name>', 'secret name, e.g. API_TOKEN (appears on env)')
      .action(async (name: string, opts: FnOption, cmd: Command) => {
        const ctx = contextFor(cmd);
        const value = await readValue(ctx.io, name);
        const { data } = await ctx.client.json<{ name: string; updatedAt: string }>(
          'PUT',
          `${ctx.nsPath}/functions/${seg(opts.fn)}/secrets/${seg(name)}`,
          { body: { value } },
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Secret ${data.name} set on ${opts.fn}; new calls see it.`);
      }),
  );

  secret.addCommand(
    withFn(withCommonOptions(new Command('list')))
      .description("list a function's secret names (values are never returned)")
      .action(async (opts: FnOption, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ secrets: { name: string; updatedAt: string }[] }>(
          'GET',
          `${ctx.nsPath}/functions/${seg(opts.fn)}/secrets`,
        );
        if (ctx.json) return printJson(ctx.io, data);
        if (data.secrets.length === 0) return say(ctx.io, `No secrets on ${opts.fn}.`);
        say(
          ctx.io,
          table(
            ['NAME', 'UPDATED'],
            data.secrets.map((s) => [s.name, s.updatedAt]),
          ),
        );
      }),
  );

  secret.addCommand(
    withFn(withCommonOptions(new Command('delete')))
      .description('remove a secret')
      .argument('<name>', 'secret name')
      .action(async (name: string, opts: FnOption, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json(
          'DELETE',
          `${ctx.nsPath}/functions/${seg(opts.fn)}/secrets/${seg(name)}`,
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Secret ${name} removed from ${opts.fn}.`);
      }),
  );
  return secret;
}
