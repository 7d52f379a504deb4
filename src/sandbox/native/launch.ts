/**
 * Starts one sandbox (docs/native-driver.md): a cgroup first, then a shell that puts itself in
 * it and execs bubblewrap, so every process the program ever makes is counted and limited. When
 * the node runs as root, bubblewrap runs as the unprivileged sandbox user (setpriv), so even a
 * process that broke out of its namespaces would hold no privilege on the host. Inside, a shell
 * starts one socat per forwarded port, waits until they listen, and execs the program.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, existsSync, lstatSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { createCgroup, type Cgroup } from './cgroup.js';
import type { LaunchOptions, Sandbox, SandboxExit, SandboxLayers, SandboxUsage } from './types.js';

/** The sandbox's user, inside and (when the node is root) outside: nobody. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
/**
 * Open files per process in a sandbox (soft and hard). The node's own limit may be far higher,
 * and each open file is kernel memory charged to the sandbox: a program exhausting its files
 * should meet EMFILE, not the OOM killer.
 */
const OPEN_FILES = 1024;
/** Inside the sandbox: where its run directory (Runtime API and proxy sockets) is. */
export const RUN_DIR = '/run/procyon';

const chownAsync = promisify(chown);

/**
 * bubblewrap flags that keep a program from creating nested user namespaces (`unshare -U` fails
 * with ENOSPC): user namespaces open kernel paths (mounting, netfilter, BPF) an unprivileged
 * program should not reach. `--disable-userns` needs bwrap's own user namespace made explicitly.
 */
export const USERNS_FLAGS = ['--unshare-user', '--disable-userns'];

/** Whether sandboxes are real here: bubblewrap, unless the unsafe flag stands in for a missing one. */
export function isSandboxed(layers: SandboxLayers): boolean {
  return !layers.unsafe || layers.bwrap !== null;
}

/** `argv` as the sandbox user when the node is root and setpriv is there; as is otherwise. */
export function dropPrivileges(argv: string[]): [string, string[]] {
  const [file = '', ...args] = argv;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return [file, args];
  return [
    '/usr/bin/setpriv',
    [`--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, '--clear-groups', '--', file, ...args],
  ];
}

/** /bin, /lib... are links into /usr on a merged-/usr system, real directories on others. */
function systemDirs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['bin', 'sbin', 'lib', 'lib64', 'lib32']) {
    const info = lstatSync(`/${dir}`, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isSymbolicLink()) args.push('--symlink', `usr/${dir}`, `/${dir}`);
    else args.push('--ro-bind', `/${dir}`, `/${dir}`);
  }
  // What programs read from /etc: TLS roots, the dynamic linker's cache, time zone, name service.
  for (const file of [
    '/etc/ssl',
    '/etc/ca-certificates',
    '/etc/alternatives',
    '/etc/localtime',
    '/etc/ld.so.cache',
    '/etc/ld.so.conf',
    '/etc/ld.so.conf.d',
    '/etc/nsswitch.conf',
    '/etc/mime.types',
  ])
    args.push('--ro-bind-try', file, file);
  // Node may live outside /usr (nvm, a tarball): its directory is visible read-only then.
  const nodeRoot = dirname(dirname(process.execPath));
  if (!process.execPath.startsWith('/usr/')) args.push('--ro-bind-try', nodeRoot, nodeRoot);
  return args;
}

/** The in-sandbox shell: socat per forward, wait until each listens (bounded), exec the program. */
function innerScript(options: LaunchOptions): string {
  const lines: string[] = [];
  const ports: string[] = [];
  for (const f of options.forwards) {
    const inside = `${RUN_DIR}/${relative(join(options.dir, 'run'), f.socket)}`;
    lines.push(`socat TCP-LISTEN:${f.port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${inside} &`);
    ports.push(`:${f.port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`);
  }
  for (const p of ports)
    lines.push(
      `i=0; until grep -q '${p}' /proc/net/tcp; do i=$((i+1)); [ $i -gt 1000 ] && break; sleep 0.002; done`,
    );
  lines.push('exec "$@"');
  return lines.join('\n');
}

function bwrapArgs(options: LaunchOptions, etc: string, layers: SandboxLayers): string[] {
  const args = [
    '--unshare-all',
    ...(layers.noNestedUserns ? USERNS_FLAGS : []),
    '--die-with-parent',
    '--new-session',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    '--hostname',
    'procyon',
    '--cap-drop',
    'ALL',
    ...systemDirs(),
    '--ro-bind',
    join(etc, 'passwd'),
    '/etc/passwd',
    '--ro-bind',
    join(etc, 'group'),
    '/etc/group',
    '--ro-bind',
    join(etc, 'hosts'),
    '/etc/hosts',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(options.limits.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--ro-bind',
    options.taskDir,
    '/var/task',
    '--ro-bind',
    options.runtimesDir,
    '/opt/procyon',
    '--bind',
    join(options.dir, 'run'),
    RUN_DIR,
  ];
  for (const b of options.binds ?? []) args.push(b.writable ? '--bind' : '--ro-bind', b.host, b.sandbox);
  args.push('--chdir', '/var/task', '--clearenv');
  for (const [k, v] of Object.entries(options.env)) args.push('--setenv', k, v);
  args.push('--', '/bin/sh', '-c', innerScript(options), 'sh', ...options.command);
  return args;
}

class RunningSandbox implements Sandbox {
  readonly exited: Promise<SandboxExit>;
  #killing: Promise<SandboxExit> | undefined;
  #lastUsage: SandboxUsage = { memoryBytes: 0, memoryPeakBytes: 0, cpuMs: 0, pids: 0 };

  constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly cgroup: Cgroup | null,
    private readonly dir: string,
    private readonly sandboxed: boolean,
  ) {
    const ooms = cgroup?.oomKills() ?? 0;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#lastUsage = this.usage();
        const oomKilled = (cgroup?.oomKills() ?? 0) > ooms;
        // bwrap reports a program killed by a signal as exit code 128 + the signal's number.
        const killed = sandboxed && code !== null && code > 128 ? signalName(code - 128) : null;
        const exit: SandboxExit = killed
          ? { code: null, signal: killed, oomKilled }
          : { code, signal, oomKilled };
        // Whatever the program left running goes with it.
        void (cgroup ? cgroup.killAll() : Promise.resolve()).catch(() => undefined).then(() => resolve(exit));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get stdout(): NonNullable<ChildProcess['stdout']> {
    return this.child.stdout as NonNullable<ChildProcess['stdout']>;
  }

  get stderr(): NonNullable<ChildProcess['stderr']> {
    return this.child.stderr as NonNullable<ChildProcess['stderr']>;
  }

  usage(): SandboxUsage {
    if (!this.cgroup || this.child.exitCode !== null || this.child.signalCode !== null)
      return this.#lastUsage;
    this.#lastUsage = this.cgroup.usage();
    return this.#lastUsage;
  }

  async setMemoryLimit(bytes: number): Promise<void> {
    await this.cgroup?.setMemoryLimit(bytes);
  }

  /** To the program: bwrap's outer process → its init in the pid namespace → the program. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.sandboxed ? childOf(childOf(this.pid)) : this.pid;
    if (!pid) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }

  kill(): Promise<SandboxExit> {
    this.#killing ??= (async () => {
      if (this.cgroup) await this.cgroup.killAll().catch(() => undefined);
      this.child.kill('SIGKILL');
      const exit = await this.exited;
      await this.cgroup?.destroy().catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true });
      return exit;
    })();
    return this.#killing;
  }
}

/** Unsandboxed, there are no mounts: /var/task and /opt/procyon are where they are on the host. */
function unsandboxedPath(value: string, options: LaunchOptions): string {
  if (value === '/var/task' || value.startsWith('/var/task/'))
    return options.taskDir + value.slice('/var/task'.length);
  if (value === '/opt/procyon' || value.startsWith('/opt/procyon/'))
    return join(options.runtimesDir, value.slice('/opt/procyon'.length));
  return value;
}

/** The first child of `pid` (from /proc), or 0. */
function childOf(pid: number): number {
  if (!pid) return 0;
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return Number(text.trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const names: Record<number, NodeJS.Signals> = {
    1: 'SIGHUP',
    2: 'SIGINT',
    6: 'SIGABRT',
    9: 'SIGKILL',
    11: 'SIGSEGV',
    15: 'SIGTERM',
  };
  return names[n] ?? null;
}

/** Launches a sandbox as `options` describe it; resolves once its process is spawned. */
export async function launchSandbox(options: LaunchOptions, layers: SandboxLayers): Promise<Sandbox> {
  const run = join(options.dir, 'run');
  // Cannot happen: callers put every forwarded socket in the sandbox's run folder.
  for (const f of options.forwards)
    if (dirname(f.socket) !== run) throw new Error(`forwarded socket ${f.socket} is not in ${run}`);
  await mkdir(run, { recursive: true });
  const sandboxed = isSandboxed(layers);
  const cgroup = layers.cgroup ? await createCgroup(layers, options.id, options.limits) : null;
  let child: ChildProcess;
  try {
    let argv: string[];
    if (sandboxed) {
      const etc = join(options.dir, 'etc');
      await mkdir(etc, { recursive: true });
      await writeFile(join(etc, 'passwd'), `sandbox:x:${SANDBOX_UID}:${SANDBOX_GID}:sandbox:/tmp:/bin/sh\n`);
      await writeFile(join(etc, 'group'), `sandbox:x:${SANDBOX_GID}:\n`);
      await writeFile(join(etc, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
      // The sandbox user writes its own sockets here (an endpoint); the node's are made 0666.
      if (process.getuid?.() === 0) await chownAsync(run, SANDBOX_UID, SANDBOX_GID);
      await chmod(run, 0o700);
      const [file, args] = dropPrivileges(['bwrap', ...bwrapArgs(options, etc, layers)]);
      argv = [file, ...args];
    } else argv = options.command.map((a) => unsandboxedPath(a, options));
    // The shell joins the cgroup, then becomes bwrap (or the program): nothing escapes the count.
    const procs = cgroup ? cgroup.paths.map((p) => join(p, 'cgroup.procs')) : [];
    child = spawn(
      '/bin/sh',
      [
        '-c',
        `ulimit -n ${OPEN_FILES}; while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"`,
        'sh',
        ...procs,
        '--',
        ...argv,
      ],
      {
        // bwrap's own environment is visible inside as /proc/1/environ: give it nothing of the node's.
        env: sandboxed
          ? { PATH: '/usr/bin:/bin' }
          : Object.fromEntries(Object.entries(options.env).map(([k, v]) => [k, unsandboxedPath(v, options)])),
        cwd: sandboxed ? '/' : options.taskDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (err) {
    await cgroup?.destroy().catch(() => undefined);
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  }).catch(async (err: unknown) => {
    await cgroup?.destroy().catch(() => undefined);
    throw err;
  });
  return new RunningSandbox(options.id, child, cgroup, options.dir, sandboxed);
}
