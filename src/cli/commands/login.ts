/** `procyon login`: check a node URL and key, then remember them in the profile. */
import { Command } from 'commander';
import type { NamespaceInfo } from '../../api/index.js';
import { profilePath, writeProfile } from '../config.js';
import { contextFor, withCommonOptions } from '../context.js';
import { usageError } from '../errors.js';
import { printJson } from '../output.js';
import { say } from '../io.js';

export function loginCommand(): Command {
  return withCommonOptions(new Command('login'))
    .description('verify a node URL and API key and save them to the profile (mode 0600)')
    .addHelpText(
      'after',
      '\nThe profile is $PROCYON_CONFIG_DIR/profile.json (default ~/.config/procyon/profile.json).\n' +
        'Example: procyon login --url https://procyon.example.com --key pk_...',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFor(cmd);
      if (ctx.target.key === undefined) throw usageError('no API key; pass --key <key> or set PROCYON_KEY');
      const { data } = await ctx.client.json<{ namespaces: NamespaceInfo[] }>('GET', '/api/v1/namespaces');
      const path = profilePath(ctx.io.env, ctx.io.env.HOME || undefined);
      writeProfile(path, { url: ctx.target.url, key: ctx.target.key });
      const names = data.namespaces.map((n) => n.name);
      if (ctx.json) {
        printJson(ctx.io, { url: ctx.target.url, profile: path, namespaces: data.namespaces });
        return;
      }
      say(ctx.io, `Logged in to ${ctx.target.url}; namespaces: ${names.join(', ') || '(none)'}`);
      say(ctx.io, `Profile saved to ${path}`);
    });
}
