/**
 * Options every command takes (`--url`, `--key`, `-n`, `--json`), accepted both before the command
 * (`procyon -n prod list`) and after it (`procyon list -n prod`), and the per-command context built
 * from them: the resolved node, the API client and the namespace.
 */
import type { Command } from 'commander';
import { ApiClient, seg } from './client.js';
import { resolveTarget, type Target } from './config.js';
import { ioOf, type CliIo } from './io.js';

export const DEFAULT_NAMESPACE = 'default';

export interface CommonOptions {
  url?: string;
  key?: string;
  namespace?: string;
  json?: boolean;
}

/**
 * No commander defaults here on purpose: a default on the subcommand would hide a value given before
 * it. Defaults are applied in `contextFor`.
 */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'node URL (env PROCYON_URL, then profile, default http://127.0.0.1:8080)')
    .option(
      '--key <key>',
      'API key (env PROCYON_KEY, then profile, then <data dir>/admin.key for a local node)',
    )
    .option('-n, --namespace <ns>', `namespace (default "${DEFAULT_NAMESPACE}")`)
    .option('--json', "machine output: the API's JSON");
}

/** Values given on the command win over values given before it. */
export function commonOptions(cmd: Command): CommonOptions {
  const out: CommonOptions = {};
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    const o = c.opts<CommonOptions>();
    out.url ??= o.url;
    out.key ??= o.key;
    out.namespace ??= o.namespace;
    out.json ??= o.json;
  }
  return out;
}

export interface Context {
  target: Target;
  client: ApiClient;
  namespace: string;
  json: boolean;
  /** `/api/v1/namespaces/<ns>` with the namespace encoded. */
  nsPath: string;
  io: CliIo;
}

export function contextFor(cmd: Command): Context {
  const o = commonOptions(cmd);
  const io = ioOf(cmd);
  const target = resolveTarget({
    flags: { url: o.url, key: o.key },
    env: io.env,
    cwd: io.cwd,
    ...(io.env.HOME ? { home: io.env.HOME } : {}),
  });
  const namespace = o.namespace ?? DEFAULT_NAMESPACE;
  return {
    target,
    client: new ApiClient(target),
    namespace,
    json: o.json === true,
    nsPath: `/api/v1/namespaces/${seg(namespace)}`,
    io,
  };
}
