/**
 * Which isolation layers this machine gives the native driver, found once at start-up and
 * printed in the node's banner: bubblewrap (tried, not just looked for: a kernel without
 * unprivileged user namespaces has the binary but cannot use it), socat, and cgroup v2 or v1 with
 * the memory, pids and CPU controllers the sandboxes get.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findCgroupTopology, prepareParents, sweepStale } from './cgroup.js';
import { SANDBOX_GID, SANDBOX_UID, USERNS_FLAGS, dropPrivileges } from './launch.js';
import type { SandboxLayers } from './types.js';

const run = promisify(execFile);

async function which(tool: string): Promise<string | null> {
  try {
    return (await run('sh', ['-c', `command -v ${tool}`])).stdout.trim() || null;
  } catch {
    return null;
  }
}

/** A sandbox that runs `/bin/true`: the smallest proof that bubblewrap works here. */
function probeArgs(bwrap: string, extra: string[]): [string, string[]] {
  return dropPrivileges([
    bwrap,
    '--unshare-all',
    ...extra,
    '--die-with-parent',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--proc',
    '/proc',
    '/bin/true',
  ]);
}

/** The flags that stop nested user namespaces (launch.ts `USERNS_FLAGS`), when this bwrap has them. */
async function tryDisableUserns(bwrap: string): Promise<boolean> {
  try {
    // --help goes to stdout and exits 0; an older bwrap does not list the flag.
    if (!(await run(bwrap, ['--help'])).stdout.includes('--disable-userns')) return false;
    // It needs a user namespace of bwrap's own, which a setuid bwrap may not get.
    await run(...probeArgs(bwrap, USERNS_FLAGS), { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** bubblewrap's version if it can make a sandbox here, else why not. */
async function tryBwrap(): Promise<{ version: string; noNestedUserns: boolean } | { problem: string }> {
  const bwrap = await which('bwrap');
  if (!bwrap) return { problem: 'bubblewrap not found (Debian package bubblewrap)' };
  try {
    const version = (await run(bwrap, ['--version'])).stdout.trim().replace(/^bubblewrap\s*/, '');
    await run(...probeArgs(bwrap, []), { timeout: 10_000 });
    return { version, noNestedUserns: await tryDisableUserns(bwrap) };
  } catch (err) {
    const detail = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0];
    return { problem: `bubblewrap cannot make a sandbox here (${detail})` };
  }
}

export async function detectLayers(options: { unsafe: boolean }): Promise<SandboxLayers> {
  const [bwrap, socat] = await Promise.all([tryBwrap(), which('socat')]);
  const problems: NonNullable<SandboxLayers['problems']> = {};
  if ('problem' in bwrap) problems.bwrap = bwrap.problem;
  if (!socat) problems.socat = 'socat not found (Debian package socat)';
  let cgroup: SandboxLayers['cgroup'] = null;
  const topology = findCgroupTopology();
  if (!topology) problems.cgroup = 'no cgroup hierarchy with a memory controller';
  else {
    try {
      const controllers = await prepareParents(topology);
      cgroup = { version: topology.version, ...controllers };
    } catch (err) {
      problems.cgroup = `cannot create cgroups (${(err as Error).message.split('\n')[0]}); sandboxes run without memory, pids and CPU limits`;
    }
  }
  const layers: SandboxLayers = {
    bwrap: 'version' in bwrap ? bwrap.version : null,
    noNestedUserns: 'version' in bwrap && bwrap.noNestedUserns,
    socat: socat !== null,
    cgroup,
    unsafe: options.unsafe,
    ...(Object.keys(problems).length ? { problems } : {}),
  };
  // Sandboxes of a node that died without cleaning up: their processes went with it
  // (--die-with-parent); their cgroups are still there.
  if (cgroup) await sweepStale(layers).catch(() => 0);
  return layers;
}

/** One line for the start-up banner: what the native driver has, or why it is off. */
export function describeLayers(layers: SandboxLayers): string {
  const cg = layers.cgroup;
  const limits = cg
    ? `cgroup v${cg.version} (${(['memory', 'pids', 'cpu'] as const).filter((c) => cg[c]).join(', ')})`
    : `no cgroup limits: ${layers.problems?.cgroup ?? 'unavailable'}`;
  const userns = layers.noNestedUserns ? 'nested user namespaces blocked' : 'nested user namespaces allowed';
  if (layers.bwrap && layers.socat)
    return `native driver: bubblewrap ${layers.bwrap} (${userns}), socat, ${limits}`;
  const missing = [layers.problems?.bwrap, layers.problems?.socat].filter(Boolean).join('; ');
  if (layers.unsafe)
    return `native driver: UNSAFE development mode, programs run unsandboxed as plain child processes (${missing}); ${limits}`;
  return `native driver: unavailable (${missing}); install the packages, or start with --unsafe-native-sandbox for development only`;
}
