/**
 * What a server costs, read from /proc (Linux): the process tree under a pid, its CPU time
 * (utime + stime) and its resident memory (VmRSS). The bench measures whole trees because a
 * Procyon node's work is split over the node and its isolate host children.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (almost always 100). */
const TICKS_PER_SECOND = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  /** utime + stime, in clock ticks */
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // Gone between the directory listing and the read.
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) ... utime(14) stime(15); here index = field number - 3.
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** `root` and all its descendants alive now, root first. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

function ticksOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) out.set(pid, stat.ticks);
  }
  return out;
}

/** CPU time used by a process tree (ms), and the part of it its root used. */
export interface CpuUse {
  total: number;
  root: number;
}

/**
 * Starts counting the CPU time of `root`'s tree; the returned function gives what was used since.
 * A process born during the window counts from zero; one that died during it is lost (the hosts
 * do not come and go under a steady load).
 */
export function cpuMeter(root: number): () => CpuUse {
  const before = ticksOf(processTree(root));
  return () => {
    let total = 0;
    let rootTicks = 0;
    for (const [pid, now] of ticksOf(processTree(root))) {
      const used = now - (before.get(pid) ?? 0);
      total += used;
      if (pid === root) rootTicks = used;
    }
    const ms = (ticks: number): number => (ticks * 1000) / TICKS_PER_SECOND;
    return { total: ms(total), root: ms(rootTicks) };
  };
}

/** Resident memory of one process (VmRSS), in bytes; 0 if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The processes in `root`'s tree whose command line contains `needle` (e.g. isolate hosts). */
export function processesRunning(root: number, needle: string): number[] {
  return processTree(root).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}
