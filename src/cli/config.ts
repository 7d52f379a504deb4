/**
 * Which node the CLI talks to, and with which key. Resolution order, per value: flags, then
 * environment (`PROCYON_URL`, `PROCYON_KEY`), then the profile written by `procyon login`, then the
 * local-dev default: `http://127.0.0.1:8080` with the admin key a node started in the same folder
 * (`npm start`) wrote to `${PROCYON_DATA_DIR:-./.procyon}/admin.key`.
 *
 * A key is only taken from the profile when the profile names the same URL, and the local admin key
 * is only sent to a loopback URL: `--url https://elsewhere` must not leak a key meant for another node.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.js';

/** Every environment variable the CLI reads. */
export const CLI_ENV = {
  /** Node URL. */
  url: 'PROCYON_URL',
  /** API key. */
  key: 'PROCYON_KEY',
  /** Where `profile.json` lives. @default ~/.config/procyon */
  configDir: 'PROCYON_CONFIG_DIR',
  /** The local node's data folder, for its `admin.key`. @default ./.procyon */
  dataDir: 'PROCYON_DATA_DIR',
  /** `1` prints stack traces on errors. */
  debug: 'PROCYON_DEBUG',
} as const;

/** Where `npm start` listens by default (see src/config.ts). */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

const ProfileSchema = z.object({ url: z.string().min(1), key: z.string().min(1) });
export type Profile = z.infer<typeof ProfileSchema>;

export type Source = 'flag' | 'env' | 'profile' | 'default' | 'admin.key';

export interface Target {
  /** Normalised: no trailing slash. */
  url: string;
  /** Undefined when no key could be found; the node will then answer 401. */
  key: string | undefined;
  urlSource: Source;
  keySource: Source | undefined;
}

export interface ResolveInput {
  flags: { url?: string | undefined; key?: string | undefined };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

export function profilePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const dir = nonEmpty(env[CLI_ENV.configDir]) ?? join(home, '.config', 'procyon');
  return join(dir, 'profile.json');
}

export function adminKeyPath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return resolve(cwd, nonEmpty(env[CLI_ENV.dataDir]) ?? '.procyon', 'admin.key');
}

export function resolveTarget(input: ResolveInput): Target {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const profile = readProfile(profilePath(env, input.home));

  let url: string;
  let urlSource: Source;
  const flagUrl = nonEmpty(input.flags.url);
  const envUrl = nonEmpty(env[CLI_ENV.url]);
  if (flagUrl !== undefined) [url, urlSource] = [flagUrl, 'flag'];
  else if (envUrl !== undefined) [url, urlSource] = [envUrl, 'env'];
  else if (profile !== undefined) [url, urlSource] = [profile.url, 'profile'];
  else [url, urlSource] = [DEFAULT_URL, 'default'];
  url = normaliseUrl(url);

  const flagKey = nonEmpty(input.flags.key);
  const envKey = nonEmpty(env[CLI_ENV.key]);
  if (flagKey !== undefined) return { url, key: flagKey, urlSource, keySource: 'flag' };
  if (envKey !== undefined) return { url, key: envKey, urlSource, keySource: 'env' };
  if (profile !== undefined && normaliseUrl(profile.url) === url) {
    return { url, key: profile.key, urlSource, keySource: 'profile' };
  }
  if (isLoopback(url)) {
    const key = readOptional(adminKeyPath(env, cwd))?.trim();
    if (key) return { url, key, urlSource, keySource: 'admin.key' };
  }
  return { url, key: undefined, urlSource, keySource: undefined };
}

/** Parses and checks a node URL; the result has no trailing slash so paths can be appended. */
export function normaliseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`invalid URL "${raw}"; expected e.g. ${DEFAULT_URL}`, { exitCode: 2 });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError(`invalid URL "${raw}"; only http and https are supported`, { exitCode: 2 });
  }
  return u.href.replace(/\/+$/, '');
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

export function readProfile(path: string): Profile | undefined {
  const text = readOptional(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`profile ${path} is not valid JSON; run procyon login again or delete it`);
  }
  const parsed = ProfileSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError(
      `profile ${path} must be {"url": ..., "key": ...}; run procyon login again or delete it`,
    );
  }
  return parsed.data;
}

/** Writes the profile readable by its owner only (0600), atomically so a crash leaves the old one. */
export function writeProfile(path: string, profile: Profile): void {
  const dir = resolve(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  // `mode` is masked by the umask and ignored if the file existed; make sure.
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      cause: err,
    });
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
