/**
 * One cgroup per sandbox: its limits, its usage, its OOM-kill count, and killing everything in it.
 * A v2 adapter (one unified hierarchy) and a v1 adapter (one directory per controller hierarchy)
 * sit behind the same `Cgroup` interface.
 *
 * Every sandbox cgroup lives under a `procyon` cgroup below the node's own cgroup in each hierarchy
 * (so a node confined by its supervisor stays inside its confinement), and is named
 * `n<node pid>-<sandbox id>`: the node pid lets `sweepStale` tell a crashed node's leftovers from a
 * sibling node's live sandboxes when several nodes share one cgroup.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcyonError } from '../../errors.js';
import type { SandboxLayers, SandboxLimits, SandboxUsage } from './types.js';

export interface Cgroup {
  /** The cgroup directories a process must join (write its pid to each `cgroup.procs`). */
  readonly paths: string[];
  usage(): SandboxUsage;
  /** OOM kills the kernel made in this cgroup so far. */
  oomKills(): number;
  /** Changes the memory limit, e.g. when a warm sandbox is handed to a function. (bytes) */
  setMemoryLimit(bytes: number): Promise<void>;
  /** SIGKILLs every process in the cgroup until none is left. */
  killAll(): Promise<void>;
  /** Removes the cgroup (it must be empty: call `killAll` first). Idempotent. */
  destroy(): Promise<void>;
}

/** Where the node's cgroups are: the node's own cgroup directory per controller. */
export interface CgroupTopology {
  version: 1 | 2;
  /** controller (`memory`, `pids`, `cpu`, `cpuacct`; v2: all map to one dir) -> the node's cgroup dir */
  own: Map<string, string>;
}

const PARENT = 'procyon';
const CPU_PERIOD_US = 100_000;
const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'];
const V2_CONTROLLERS = ['memory', 'pids', 'cpu'];
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

interface Mount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

/** `/proc/self/mountinfo`: mount root (field 4), mount point (5), fs type and super options after `-`. */
function cgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    const fstype = fields[dash + 1];
    if (dash < 0 || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
    mounts.push({
      root: unescapeMount(fields[3] ?? '/'),
      point: unescapeMount(fields[4] ?? ''),
      fstype,
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The host directory of cgroup `path` (as in /proc/self/cgroup) under a mount of its hierarchy. */
function hostDir(mount: Mount, path: string): string | null {
  if (mount.root === '/') return join(mount.point, path);
  if (path !== mount.root && !path.startsWith(`${mount.root}/`)) return null;
  return join(mount.point, path.slice(mount.root.length));
}

/**
 * Reads /proc/self/cgroup and /proc/self/mountinfo. v2 when the unified hierarchy offers memory and
 * pids to our cgroup (a hybrid host's `unified` mount usually offers none); else v1 when a memory
 * hierarchy is mounted; else null.
 */
export function findCgroupTopology(
  procCgroup = readText('/proc/self/cgroup'),
  mountinfo = readText('/proc/self/mountinfo'),
): CgroupTopology | null {
  const mounts = cgroupMounts(mountinfo);
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, hier, list = '', path = '/'] = match;
    if (hier === '0' && list === '') {
      const mount = mounts.find((m) => m.fstype === 'cgroup2');
      v2 = mount ? hostDir(mount, path) : null;
      continue;
    }
    for (const controller of list.split(',')) {
      if (!V1_CONTROLLERS.includes(controller)) continue;
      const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
      const dir = mount ? hostDir(mount, path) : null;
      if (dir !== null) v1.set(controller, dir);
    }
  }
  if (v2 !== null) {
    const offered = readText(join(v2, 'cgroup.controllers')).split(/\s+/);
    if (offered.includes('memory') && offered.includes('pids')) {
      return { version: 2, own: new Map(V2_CONTROLLERS.map((c) => [c, v2 ?? ''])) };
    }
  }
  return v1.has('memory') ? { version: 1, own: v1 } : null;
}

/**
 * Creates the `procyon` parent cgroups and, on v2, delegates the controllers to it. v2 forbids a
 * non-root cgroup that holds processes from enabling controllers for its children, so when the
 * node's own cgroup holds processes they move into a `<own>/node` leaf first (what a systemd
 * service with Delegate=yes does). Returns which controllers the sandboxes get.
 */
export async function prepareParents(
  topology: CgroupTopology,
): Promise<{ memory: boolean; pids: boolean; cpu: boolean }> {
  if (topology.version === 2) {
    const own = topology.own.get('memory') ?? '';
    const offered = (await readFile(join(own, 'cgroup.controllers'), 'utf8')).split(/\s+/);
    const wanted = V2_CONTROLLERS.filter((c) => offered.includes(c));
    const enable = wanted.map((c) => `+${c}`).join(' ');
    try {
      await writeFile(join(own, 'cgroup.subtree_control'), enable);
    } catch (error) {
      if (errno(error) !== 'EBUSY') throw error;
      const leaf = join(own, 'node');
      await mkdir(leaf, { recursive: true });
      for (const pid of await readPids(join(own, 'cgroup.procs'))) {
        await writeFile(join(leaf, 'cgroup.procs'), String(pid)).catch(() => undefined);
      }
      await writeFile(join(own, 'cgroup.subtree_control'), enable);
    }
    const parent = join(own, PARENT);
    await mkdir(parent, { recursive: true });
    await writeFile(join(parent, 'cgroup.subtree_control'), enable);
    return { memory: wanted.includes('memory'), pids: wanted.includes('pids'), cpu: wanted.includes('cpu') };
  }
  for (const dir of new Set(topology.own.values())) await mkdir(join(dir, PARENT), { recursive: true });
  return {
    memory: topology.own.has('memory'),
    pids: topology.own.has('pids'),
    cpu: topology.own.has('cpu') && topology.own.has('cpuacct'),
  };
}

/** The directory name of sandbox `id`'s cgroup. */
export function cgroupName(id: string, nodePid = process.pid): string {
  return `n${nodePid}-${id}`;
}

/** Creates sandbox `id`'s cgroup with `limits` (the parents must exist: `detectLayers` made them). */
export async function createCgroup(
  layers: SandboxLayers,
  id: string,
  limits: SandboxLimits,
): Promise<Cgroup> {
  if (!ID_PATTERN.test(id))
    throw new ProcyonError('PROCYON_INTERNAL', `invalid sandbox id ${JSON.stringify(id)}`);
  const topology = layers.cgroup ? findCgroupTopology() : null;
  if (!topology) throw new ProcyonError('PROCYON_INTERNAL', 'no usable cgroup hierarchy on this node');
  const name = cgroupName(id);
  const dirOf = (controller: string): string | null => {
    const own = topology.own.get(controller);
    return own === undefined ? null : join(own, PARENT, name);
  };
  const cgroup = topology.version === 2 ? new CgroupV2(dirOf('memory') ?? '') : new CgroupV1(dirOf);
  for (const path of cgroup.paths) await mkdir(path);
  try {
    await cgroup.apply(limits);
  } catch (error) {
    await cgroup.destroy();
    throw new ProcyonError('PROCYON_INTERNAL', `cannot set the limits of cgroup ${name}`, { cause: error });
  }
  return cgroup;
}

/**
 * Removes the sandbox cgroups a crashed node left behind (their name's node pid is not alive):
 * kills what still runs in them, then removes them. Returns how many it removed.
 */
export async function sweepStale(layers: SandboxLayers): Promise<number> {
  const topology = layers.cgroup ? findCgroupTopology() : null;
  if (!topology) return 0;
  const stale = new Set<string>();
  for (const own of new Set(topology.own.values())) {
    const parent = join(own, PARENT);
    const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const match = /^n(\d+)-/.exec(entry.name);
      if (entry.isDirectory() && match && !alive(Number(match[1]))) {
        await killDirs([join(parent, entry.name)], false);
        await removeDir(join(parent, entry.name));
        stale.add(entry.name);
      }
    }
  }
  return stale.size;
}

abstract class BaseCgroup implements Cgroup {
  abstract readonly paths: string[];
  abstract usage(): SandboxUsage;
  abstract oomKills(): number;
  abstract setMemoryLimit(bytes: number): Promise<void>;
  abstract apply(limits: SandboxLimits): Promise<void>;
  protected abstract readonly canKill: boolean;

  async killAll(): Promise<void> {
    await killDirs(this.paths, this.canKill);
  }

  async destroy(): Promise<void> {
    for (const path of this.paths) await removeDir(path);
  }
}

class CgroupV2 extends BaseCgroup {
  readonly paths: string[];
  protected readonly canKill: boolean;

  constructor(private readonly dir: string) {
    super();
    this.paths = [dir];
    this.canKill = existsSync(join(dirname(dir), 'cgroup.kill'));
  }

  async apply(limits: SandboxLimits): Promise<void> {
    await this.setMemoryLimit(limits.memoryBytes);
    await writeFile(join(this.dir, 'pids.max'), String(limits.pids));
    if (limits.cpus > 0 && existsSync(join(this.dir, 'cpu.max'))) {
      const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
      await writeFile(join(this.dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    }
  }

  async setMemoryLimit(bytes: number): Promise<void> {
    await writeFile(join(this.dir, 'memory.max'), String(bytes));
    // No swap: a sandbox over its limit is OOM-killed rather than slowed to a crawl.
    if (existsSync(join(this.dir, 'memory.swap.max')))
      await writeFile(join(this.dir, 'memory.swap.max'), '0');
  }

  usage(): SandboxUsage {
    const cpuUsec = keyed(readText(join(this.dir, 'cpu.stat')), 'usage_usec');
    return {
      memoryBytes: readNumber(join(this.dir, 'memory.current')),
      memoryPeakBytes: readNumber(join(this.dir, 'memory.peak')),
      cpuMs: cpuUsec / 1000,
      pids: readNumber(join(this.dir, 'pids.current')),
    };
  }

  oomKills(): number {
    return keyed(readText(join(this.dir, 'memory.events')), 'oom_kill');
  }
}

class CgroupV1 extends BaseCgroup {
  readonly paths: string[];
  protected readonly canKill = false;
  private readonly memory: string;
  private readonly pids: string | null;
  private readonly cpu: string | null;
  private readonly cpuacct: string | null;

  constructor(dirOf: (controller: string) => string | null) {
    super();
    this.memory = dirOf('memory') ?? '';
    this.pids = dirOf('pids');
    this.cpu = dirOf('cpu');
    this.cpuacct = dirOf('cpuacct');
    const all = [this.memory, this.pids, this.cpu, this.cpuacct];
    this.paths = [...new Set(all.filter((d): d is string => d !== null))];
  }

  async apply(limits: SandboxLimits): Promise<void> {
    await this.setMemoryLimit(limits.memoryBytes);
    if (this.pids) await writeFile(join(this.pids, 'pids.max'), String(limits.pids));
    if (this.cpu && limits.cpus > 0) {
      const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
      await writeFile(join(this.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await writeFile(join(this.cpu, 'cpu.cfs_quota_us'), String(quota));
    }
  }

  async setMemoryLimit(bytes: number): Promise<void> {
    const limit = join(this.memory, 'memory.limit_in_bytes');
    const memsw = join(this.memory, 'memory.memsw.limit_in_bytes');
    if (!existsSync(memsw)) return writeFile(limit, String(bytes));
    // The kernel keeps memsw >= memory: raise memsw first when growing, lower memory first when
    // shrinking. memsw equal to the memory limit means no swap (OOM kill instead of thrashing).
    const current = readNumber(limit);
    const order = bytes >= current ? [memsw, limit] : [limit, memsw];
    for (const file of order) await writeFile(file, String(bytes));
  }

  usage(): SandboxUsage {
    return {
      memoryBytes: readNumber(join(this.memory, 'memory.usage_in_bytes')),
      memoryPeakBytes: readNumber(join(this.memory, 'memory.max_usage_in_bytes')),
      cpuMs: this.cpuacct ? readNumber(join(this.cpuacct, 'cpuacct.usage')) / 1e6 : 0,
      pids: this.pids ? readNumber(join(this.pids, 'pids.current')) : 0,
    };
  }

  oomKills(): number {
    const control = readText(join(this.memory, 'memory.oom_control'));
    // Kernels before 4.13 have no oom_kill counter: failcnt (times the limit was hit) stands in.
    if (/^oom_kill /m.test(control)) return keyed(control, 'oom_kill');
    return readNumber(join(this.memory, 'memory.failcnt'));
  }
}

/**
 * SIGKILLs every pid listed in the dirs' cgroup.procs until they are all empty (v2 with
 * cgroup.kill: the kernel kills them all at once). A pids limit stops a fork bomb from outrunning
 * the loop; sandboxes under bwrap also die whole when their pid namespace's init dies.
 */
async function killDirs(dirs: string[], cgroupKill: boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let round = 0; ; round++) {
    const pids = new Set<number>();
    for (const dir of dirs) for (const pid of await readPids(join(dir, 'cgroup.procs'))) pids.add(pid);
    if (pids.size === 0) return;
    if (Date.now() > deadline) {
      throw new ProcyonError('PROCYON_INTERNAL', `processes ${[...pids].join(', ')} survive SIGKILL`);
    }
    const [first] = dirs;
    if (cgroupKill && first !== undefined && round === 0) {
      await writeFile(join(first, 'cgroup.kill'), '1');
    } else {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone: it leaves cgroup.procs once reaped.
        }
      }
    }
    await sleep(Math.min(5 * (round + 1), 50));
  }
}

/** rmdir, retried briefly: the kernel may still be tearing down the last exited task. */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 100) throw error;
      await sleep(20);
    }
  }
}

async function readPids(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

function errno(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readNumber(file: string): number {
  const n = Number(readText(file).trim());
  return Number.isFinite(n) ? n : 0;
}

/** A `key value` line of a flat-keyed cgroup file (memory.events, cpu.stat, memory.oom_control). */
function keyed(text: string, key: string): number {
  const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** The sandbox cgroups of this node currently present (tests, diagnostics). */
export function listCgroups(topology: CgroupTopology): string[] {
  const names = new Set<string>();
  for (const own of new Set(topology.own.values())) {
    try {
      for (const e of readdirSync(join(own, PARENT), { withFileTypes: true }))
        if (e.isDirectory()) names.add(e.name);
    } catch {
      // No parent yet.
    }
  }
  return [...names];
}
