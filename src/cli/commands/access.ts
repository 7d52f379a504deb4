/**
 * `procyon namespace create|list` and `procyon key create|list|revoke`: tenants and their API
 * keys (admin key needed, except to list the namespaces a key can see). A new key is printed once.
 */
import { Command } from 'commander';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { usageError } from '../errors.js';
import { printJson, table } from '../output.js';
import { say } from '../io.js';

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function namespaceCommand(): Command {
  const ns = new Command('namespace').description('manage namespaces (tenants)');
  ns.addCommand(
    withCommonOptions(new Command('create'))
      .description('create a namespace (admin key); creating one that exists is not an error')
      .argument('<name>', 'namespace name')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        if (!NAME_RE.test(name))
          throw usageError(`invalid namespace name "${name}": use lowercase letters, digits, - or _`);
        const ctx = contextFor(cmd);
        const { status, data } = await ctx.client.json('PUT', `/api/v1/namespaces/${seg(name)}`);
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, status === 201 ? `Created namespace ${name}.` : `Namespace ${name} already exists.`);
      }),
  );
  ns.addCommand(
    withCommonOptions(new Command('list'))
      .description('list the namespaces this key can see')
      .action(async (_opts: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ namespaces: { name: string; createdAt: string }[] }>(
          'GET',
          '/api/v1/namespaces',
        );
        if (ctx.json) return printJson(ctx.io, data);
        say(
          ctx.io,
          table(
            ['NAME', 'CREATED'],
            data.namespaces.map((n) => [n.name, n.createdAt]),
          ),
        );
      }),
  );
  return ns;
}

interface KeyInfo {
  id: string;
  namespace: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export function keyCommand(): Command {
  const key = new Command('key').description('manage API keys (admin key needed)');
  key.addCommand(
    withCommonOptions(new Command('create'))
      .description('create a key for one namespace (--for), or an admin key (--admin); it is shown once')
      .option('--for <namespace>', 'the namespace the key may act on')
      .option('--admin', 'a key for every namespace, including key management')
      .action(async (opts: { for?: string; admin?: boolean }, cmd: Command) => {
        if (Boolean(opts.for) === Boolean(opts.admin))
          throw usageError('pass exactly one of --for <namespace> or --admin');
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<KeyInfo & { key: string }>('POST', '/api/v1/keys', {
          body: { namespace: opts.for ?? null },
        });
        if (ctx.json) return printJson(ctx.io, data);
        say(
          ctx.io,
          `Created ${data.namespace ? `a key for namespace ${data.namespace}` : 'an admin key'} (id ${data.id}).`,
        );
        say(ctx.io, 'Store it now; it cannot be shown again:');
        say(ctx.io, `  ${data.key}`);
      }),
  );
  key.addCommand(
    withCommonOptions(new Command('list'))
      .description('list keys (ids and scope; never the keys themselves)')
      .action(async (_opts: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json<{ keys: KeyInfo[] }>('GET', '/api/v1/keys');
        if (ctx.json) return printJson(ctx.io, data);
        say(
          ctx.io,
          table(
            ['ID', 'NAMESPACE', 'CREATED', 'REVOKED'],
            data.keys.map((k) => [k.id, k.namespace ?? '(admin)', k.createdAt, k.revokedAt ?? '-']),
          ),
        );
      }),
  );
  key.addCommand(
    withCommonOptions(new Command('revoke'))
      .description('revoke a key at once')
      .argument('<id>', 'key id (from procyon key list)')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        const ctx = contextFor(cmd);
        const { data } = await ctx.client.json('DELETE', `/api/v1/keys/${seg(id)}`);
        if (ctx.json) return printJson(ctx.io, data);
        say(ctx.io, `Revoked key ${id}.`);
      }),
  );
  return key;
}
