/**
 * `procyon kv list|get|put|delete`: the data in a KV namespace, as the functions bound to it see
 * it. `get` writes the raw value to stdout (`--json`: as `text` or `base64`); `put` takes the value
 * as an argument or from stdin.
 */
import { Command } from 'commander';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { bytesJson, positiveInt, printJson, table } from '../output.js';
import { say, type CliIo } from '../io.js';

interface KvKeys {
  keys: { name: string; expiration?: number; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}

async function stdinBytes(io: CliIo): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export function kvCommand(): Command {
  const kv = new Command('kv').description('read and write KV namespaces (what env bindings see)');
  const path = (ctx: { nsPath: string }, store: string) => `${ctx.nsPath}/kv/${seg(store)}`;

  kv.addCommand(
    withCommonOptions(new Command('list'))
      .description('list keys, in order')
      .argument('<kv>', 'KV namespace')
      .option('--prefix <prefix>', 'only keys starting with this')
      .option('--limit <n>', 'at most this many keys (1..1000)', positiveInt('--limit'))
      .option('--cursor <cursor>', 'continue after a previous page')
      .action(
        async (store: string, opts: { prefix?: string; limit?: number; cursor?: string }, cmd: Command) => {
          const ctx = contextFor(cmd);
          const { data } = await ctx.client.json<KvKeys>('GET', `${path(ctx, store)}/keys`, {
            query: { prefix: opts.prefix, limit: opts.limit, cursor: opts.cursor },
          });
          if (ctx.json) return printJson(ctx.io, data);
          if (data.keys.length === 0)
            return say(ctx.io, `No keys in ${store}${opts.prefix ? ` with prefix ${opts.prefix}` : ''}.`);
          say(
            ctx.io,
            table(
              ['KEY', 'EXPIRES'],
              data.keys.map((k) => [
                k.name,
                k.expiration ? new Date(k.expiration * 1000).toISOString() : '-',
              ]),
            ),
          );
          if (!data.list_complete) say(ctx.io, `more: --cursor ${data.cursor ?? ''}`);
        },
      ),
  );

  kv.addCommand(
    withCommonOptions(new Command('get'))
      .description('print a value (raw bytes) to stdout; with --json, {kv, key, text or base64}')
      .argument('<kv>', 'KV namespace')
      .argument('<key>', 'key')
      .action(async (store: string, key: string, _opts: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const res = await ctx.client.request('GET', `${path(ctx, store)}/values/${seg(key)}`);
        const value = Buffer.from(await res.arrayBuffer());
        if (ctx.json) return printJson(ctx.io, { kv: store, key, ...bytesJson(value) });
        ctx.io.stdout.write(value);
      }),
  );

  kv.addCommand(
    withCommonOptions(new Command('put'))
      .description('store a value: procyon kv put store key "value", or from stdin without the value')
      .argument('<kv>', 'KV namespace')
      .argument('<key>', 'key')
      .argument('[value]', 'the value (read from stdin when left out)')
      .option('--ttl <seconds>', 'expire after this many seconds (at least 60)', positiveInt('--ttl'))
      .action(
        async (
          store: string,
          key: string,
          value: string | undefined,
          opts: { ttl?: number },
          cmd: Command,
        ) => {
          const ctx = contextFor(cmd);
          const raw = value === undefined ? await stdinBytes(ctx.io) : new TextEncoder().encode(value);
          const { data } = await ctx.client.json<{ bytes: number }>(
            'PUT',
            `${path(ctx, store)}/values/${seg(key)}`,
            {
              raw,
              query: { ttl: opts.ttl },
            },
          );
          if (ctx.json) return printJson(ctx.io, data);
          say(ctx.io, `Stored ${key} in ${store} (${data.bytes} bytes).`);
        },
      ),
  );

  kv.addCommand(
    withCommonOptions(new Command('delete'))
      .description('remove a key')
      .argument('<kv>', 'KV namespace')
      .argument('<key>', 'key')
      .action(async (store: string, key: string, _opts: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json('DELETE', `${path(ctx, store)}/values/${seg(key)}`);
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Deleted ${key} from ${store}.`);
      }),
  );
  return kv;
}
