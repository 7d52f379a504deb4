/**
 * The node's one memory budget for procs (`PROCYON_MEMORY_BUDGET_MB`), shared by every scheduler
 * that joins it: the isolate driver's and the native driver's. When each scheduler had the whole
 * budget to itself the node could commit twice its budget and `/metrics` reported the sum. Now a
 * new proc fits only if every member's procs together leave room for it, and room is made by
 * evicting idle procs of any member, least recently used first, whichever driver holds them.
 */
import { ProcyonError } from '../errors.js';
import type { SchedulerStats } from './types.js';

/** An idle proc a member would give up to make room. */
export interface Evictable {
  /** What the proc is charged now. (bytes) */
  bytes: number;
  /** Its last call's start or end. (epoch ms, the member's clock) */
  lastUsed: number;
  /** Part of its version's minInstances: goes only after every other idle proc. */
  pinned: boolean;
  /** Its version group; never evicted to make room for a proc of the same group. */
  group: object;
  evict(): void;
}

/** What the budget needs from a scheduler. */
export interface BudgetMember {
  /** What the member's procs are charged now, measured or estimated. (bytes) */
  usedBytes(): number;
  /** Its ready procs with no call in flight. */
  idle(): Evictable[];
}

export class MemoryBudget {
  readonly #members = new Set<BudgetMember>();

  /** @param bytes what all members' procs together may hold (bytes) */
  constructor(readonly bytes: number) {
    if (!(bytes > 0)) throw new ProcyonError('PROCYON_INTERNAL', `memory budget must be positive: ${bytes}`);
  }

  join(member: BudgetMember): void {
    this.#members.add(member);
  }

  /** What every member's procs are charged now. (bytes) */
  usedBytes(): number {
    let used = 0;
    for (const m of this.#members) used += m.usedBytes();
    return used;
  }

  /**
   * Evicts idle procs of any member, least recently used first (minInstances procs last, none of
   * `forGroup`), until `bytes` more fit; false if they cannot.
   */
  makeRoom(bytes: number, forGroup: object | null): boolean {
    let used = this.usedBytes();
    if (used + bytes <= this.bytes) return true;
    const candidates: Evictable[] = [];
    for (const m of this.#members) for (const p of m.idle()) if (p.group !== forGroup) candidates.push(p);
    candidates.sort((a, b) => Number(a.pinned) - Number(b.pinned) || a.lastUsed - b.lastUsed);
    for (const proc of candidates) {
      used -= proc.bytes;
      proc.evict();
      if (used + bytes <= this.bytes) return true;
    }
    return false;
  }
}

/**
 * Several schedulers' figures as one set (the metrics show one platform). They share one budget,
 * so it is counted once, not summed.
 */
export function mergeStats(budget: MemoryBudget, parts: SchedulerStats[]): SchedulerStats {
  const merged: SchedulerStats = {
    versions: [],
    procs: 0,
    memoryBytes: 0,
    memoryBudgetBytes: budget.bytes,
    evictions: { keepalive: 0, scaledown: 0, memory: 0, retired: 0, failed: 0 },
  };
  for (const s of parts) {
    merged.versions.push(...s.versions);
    merged.procs += s.procs;
    merged.memoryBytes += s.memoryBytes;
    for (const [k, n] of Object.entries(s.evictions)) merged.evictions[k as keyof typeof s.evictions] += n;
  }
  return merged;
}
