/**
 * The warm race: the hello function on every target, one target at a time (so none competes with
 * another for the 2 cores), the same load and warm-up for each, and the CPU time the target's
 * whole process tree spent per request over the measured window.
 */
import { round } from './lib.js';
import { load, type LoadResult } from './load.js';
import { cpuMeter } from './measure.js';
import { startPlain, startProcyon, startWorkerd, type Target, type Unavailable } from './targets/index.js';

export interface WarmSettings {
  seconds: number;
  connections: number;
  /** Load before the measured window: JIT, pools, connections. (s) */
  warmupSeconds: number;
}

export interface WarmRow extends LoadResult {
  /** CPU time of the server's process tree per 2xx response (µs) */
  cpuUsPerRequest: number;
  /** the part of it spent in the tree's root: the node itself, not its isolate hosts (µs) */
  cpuUsPerRequestRoot: number;
  /** CPU time over wall time: how many cores the server kept busy */
  coresBusy: number;
  version?: string;
}

export type TargetName = 'procyonDefault' | 'procyonTrusted' | 'workerd' | 'plainNode';

const STARTERS: Record<TargetName, () => Promise<(Target & { version?: string }) | Unavailable>> = {
  procyonDefault: () => startProcyon('default'),
  procyonTrusted: () => startProcyon('trusted'),
  workerd: startWorkerd,
  plainNode: startPlain,
};

export async function warmRace(settings: WarmSettings): Promise<Record<TargetName, WarmRow | Unavailable>> {
  const rows = {} as Record<TargetName, WarmRow | Unavailable>;
  for (const name of Object.keys(STARTERS) as TargetName[]) {
    console.log(`  ${name}...`);
    const target = await STARTERS[name]();
    if ('unavailable' in target) {
      console.log(`    unavailable: ${target.unavailable}`);
      rows[name] = target;
      continue;
    }
    try {
      await load(target.url, settings.warmupSeconds, settings.connections);
      const cpu = cpuMeter(target.pid);
      const started = performance.now();
      const result = await load(target.url, settings.seconds, settings.connections);
      const used = cpu();
      const wallMs = performance.now() - started;
      const perRequest = (ms: number): number => round((ms * 1000) / result.requests, 1);
      rows[name] = {
        ...result,
        cpuUsPerRequest: perRequest(used.total),
        cpuUsPerRequestRoot: perRequest(used.root),
        coresBusy: round(used.total / wallMs),
        ...(target.version ? { version: target.version } : {}),
      };
    } finally {
      await target.stop();
    }
  }
  return rows;
}
