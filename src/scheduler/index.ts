/**
 * The scheduler (docs/scheduler.md): which proc serves each call and how many each version keeps
 * (scheduler.ts), the KPA autoscaler behind it, and the node's one memory budget both drivers
 * share (budget.ts). Each driver embeds a Scheduler as the policy over its own procs.
 */
export { Scheduler, type Lease } from './scheduler.js';
export { MemoryBudget, mergeStats, type BudgetMember, type Evictable } from './budget.js';
export type * from './types.js';
