/**
 * What the scheduler needs from a sandbox driver, and what it reports. The scheduler decides how
 * many procs each version has and where they live; the driver (isolate hosts today, OS sandboxes
 * later) only creates, calls and disposes them on command.
 */
import type { ProcSpec } from '../sandbox/index.js';
import type { MemoryBudget } from './budget.js';

export interface ProcBackend {
  /** Places to put procs (isolate hosts). Numbered 0..hostCount-1. */
  readonly hostCount: number;
  /**
   * A host running at low OS priority, numbered hostCount, for procs of CPU-heavy functions: the
   * kernel then gives everyone else's calls the cores first. Absent: heavy procs go anywhere.
   */
  readonly backgroundHost?: number;
  /** Creates proc `id` of `spec` on `host` ahead of demand; rejects if the module fails to load. */
  spawn(id: number, host: number, spec: ProcSpec): Promise<void>;
  /** Disposes an idle proc. `last`: it was the version's last proc on that host (its code may go too). */
  evict(id: number, host: number, key: string, last: boolean): void;
}

export interface SchedulerOptions {
  /** Default `maxInstances`: most procs of one version on the node. */
  maxProcsPerVersion: number;
  /** Default `keepAliveMs`: how long a version keeps its last procs while idle. (ms) */
  keepAliveMs: number;
  /**
   * What all procs together may use (their measured heap), shared with the node's other schedulers;
   * beyond it idle procs go, LRU first (budget.ts).
   */
  memoryBudget: MemoryBudget;
  /** Share of `concurrency` the autoscaler aims for per proc, as Knative's target utilisation. @default 0.7 */
  targetUtilization?: number;
  /** Autoscaler windows (ms); defaults in autoscaler.ts. */
  stableWindowMs?: number;
  panicWindowMs?: number;
  /** Charged for a proc whose memory no host has reported yet. @default 3 MiB (bytes) */
  procMemoryEstimateBytes?: number;
  /** The tenant-affinity host of a namespace, preferred on ties. */
  homeHost?: (namespace: string) => number;
  /** Whether a function is CPU-heavy now (src/invoker/cpu-governor.ts): its new procs go to the background host. */
  heavy?: (namespace: string, fn: string) => boolean;
}

export type ProcState = 'starting' | 'idle' | 'busy';

/** One row per version with procs or calls, for metrics and `procyon top`. */
export interface VersionProcs {
  namespace: string;
  fn: string;
  version: string;
  starting: number;
  idle: number;
  busy: number;
  inFlight: number;
  /** Procs on each host, by host index. */
  perHost: number[];
  /** Calls waiting for a proc of this version (at maxInstances). */
  waiting: number;
  /** What the autoscaler asks for now. */
  desired: number;
  panic: boolean;
  memoryBytes: number;
}

export interface SchedulerStats {
  versions: VersionProcs[];
  procs: number;
  memoryBytes: number;
  memoryBudgetBytes: number;
  /** Procs evicted since start, by reason. */
  evictions: Record<EvictReason, number>;
}

export type EvictReason = 'keepalive' | 'scaledown' | 'memory' | 'retired' | 'failed';
