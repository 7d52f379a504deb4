/**
 * The node's scheduler: which proc serves each call, how many procs each version keeps, where they
 * live, and which ones go. It runs in the node, which sees every call, so one view decides for all
 * isolate hosts; the driver only executes its commands (ProcBackend). Policy, in docs/scheduler.md:
 *
 * - A call takes the least-loaded ready proc of its version with room (`concurrency` calls each),
 *   else a new proc (a cold start) while the version has fewer than `maxInstances`, else it waits
 *   in the version's FIFO. Service-binding calls never wait (their callers hold procs).
 * - New procs go to the host with the fewest procs of that version, so a hot function uses every
 *   core; ties go to the less busy host, then to the namespace's home host.
 * - Every tick the KPA autoscaler (autoscaler.ts) turns average concurrency into a desired count;
 *   the scheduler pre-warms up to it and evicts idle surplus. `minInstances` are always kept; the
 *   last procs of a version stay for `keepAliveMs` after its last call, then the version scales to
 *   zero.
 * - All procs share a memory budget (measured heap, reported by the hosts) with every other
 *   scheduler of the node (budget.ts): a new proc that does not fit evicts idle procs of any version
 *   and either driver, least recently used first; if only busy procs are left the call is refused
 *   with 429.
 */
import { ProcyonError } from '../errors.js';
import type { ProcSpec } from '../sandbox/index.js';
import { Autoscaler, ConcurrencyMeter, type Decision } from './autoscaler.js';
import type { Evictable } from './budget.js';
import type { EvictReason, ProcBackend, SchedulerOptions, SchedulerStats, VersionProcs } from './types.js';

const DEFAULT_UTILIZATION = 0.7;

/** A process instance's name independent of its class version; null for functions. */
function instanceIdentity(spec: ProcSpec): string | null {
  const name = spec.process?.instance;
  return name === undefined ? null : `${spec.namespace}/${spec.fn}#${name}`;
}
const DEFAULT_PROC_MEMORY = 3 * 1024 * 1024;
/** After a pre-warm fails (the module no longer loads), wait this long before trying again. (ms) */
const SPAWN_RETRY_MS = 30_000;

interface Slot {
  readonly id: number;
  readonly host: number;
  readonly group: Group;
  state: 'starting' | 'ready';
  inFlight: number;
  lastUsed: number;
  /** Measured by its host; null until the first report. (bytes) */
  memoryBytes: number | null;
  gone: boolean;
}

interface Group {
  readonly key: string;
  readonly spec: ProcSpec;
  readonly slots: Map<number, Slot>;
  readonly waiters: (() => void)[];
  readonly meter: ConcurrencyMeter;
  readonly autoscaler: Autoscaler;
  decision: Decision;
  inFlight: number;
  /** Last call start or end; null until the first call. */
  lastUsed: number | null;
  retired: boolean;
  /** Deployed with minInstances: kept (and refilled) until retired. */
  pinned: boolean;
  spawnFailedAt: number;
}

/** A call's hold on a proc, from `acquire` to `release`. */
export interface Lease {
  readonly id: number;
  readonly host: number;
  /** The proc does not exist yet: the call creates it (a cold start). */
  readonly cold: boolean;
}

export class Scheduler {
  readonly #groups = new Map<string, Group>();
  readonly #slots = new Map<number, Slot>();
  /** A lease's slot, even after the slot left the table (its host died mid-call). */
  readonly #leases = new WeakMap<Lease, Slot>();
  readonly #options: Required<Omit<SchedulerOptions, 'homeHost' | 'heavy'>> &
    Pick<SchedulerOptions, 'homeHost' | 'heavy'>;
  readonly #evictions: Record<EvictReason, number> = {
    keepalive: 0,
    scaledown: 0,
    memory: 0,
    retired: 0,
    failed: 0,
  };
  /** The latest group of each process instance (any version of its class): `ns/Class#name`. */
  readonly #instances = new Map<string, Group>();
  #nextId = 1;
  /** Sum and count of measured proc memory, for the estimate of unmeasured procs. */
  #measured = { bytes: 0, procs: 0 };

  constructor(
    private readonly backend: ProcBackend,
    options: SchedulerOptions,
    private readonly now: () => number = Date.now,
  ) {
    const stableWindowMs = options.stableWindowMs ?? 60_000;
    this.#options = {
      targetUtilization: DEFAULT_UTILIZATION,
      procMemoryEstimateBytes: DEFAULT_PROC_MEMORY,
      ...options,
      stableWindowMs,
      // Knative's default: the panic window is a tenth of the stable one.
      panicWindowMs: options.panicWindowMs ?? Math.max(1, Math.round(stableWindowMs / 10)),
    };
    options.memoryBudget.join({
      usedBytes: () => {
        let used = 0;
        for (const slot of this.#slots.values()) used += this.#charge(slot);
        return used;
      },
      idle: () => this.#idle(),
    });
  }

  /**
   * Finds or makes a proc for one call of `spec`; waits at maxInstances unless `nested`. A process
   * instance never gets a second proc: a nested call to it shares its one proc beyond its
   * concurrency instead (its input gate orders the events inside).
   */
  async acquire(spec: ProcSpec, nested = false): Promise<Lease> {
    const single = spec.process?.instance !== undefined;
    for (;;) {
      const group = this.#group(spec);
      // An evicted instance whose last events still run: its next proc waits until they end.
      if (group.retired) {
        await new Promise<void>((resolve) => group.waiters.push(resolve));
        continue;
      }
      const slot = this.#pick(group) ?? (nested && single ? this.#any(group) : undefined);
      if (slot) return this.#lease(slot, false);
      if (group.slots.size < this.#limits(group).max || (nested && !single)) {
        return this.#lease(this.#create(group, 'ready', true), true);
      }
      await new Promise<void>((resolve) => group.waiters.push(resolve));
    }
  }

  /** The call is over. `gone`: its proc was disposed (it hit a limit, or its host died). */
  release(lease: Lease, gone = false): void {
    const slot = this.#leases.get(lease);
    if (!slot) return;
    this.#leases.delete(lease);
    const group = slot.group;
    const now = this.now();
    slot.inFlight--;
    slot.lastUsed = now;
    group.inFlight--;
    group.lastUsed = now;
    group.meter.set(now, group.inFlight);
    if (gone) this.#remove(slot);
    else if (!slot.gone && group.retired && slot.inFlight === 0) this.#evict(slot, 'retired');
    // Waiters on a retired group each look again (for a new group once this one has emptied).
    if (group.retired) for (const wake of group.waiters.splice(0)) wake();
    else group.waiters.shift()?.();
  }

  /**
   * The call is over and its proc must go although it is alive (a process instance whose handler
   * threw): disposed now, so its next event starts from storage in a new one.
   */
  discard(lease: Lease): void {
    const slot = this.#leases.get(lease);
    this.release(lease);
    if (slot && !slot.gone) this.#evict(slot, 'failed');
  }

  /** Calls of a version that can run at once: maxInstances × concurrency. */
  capacity(spec: ProcSpec): number {
    const max = spec.scaling.maxInstances ?? this.#options.maxProcsPerVersion;
    return max * (spec.scaling.concurrency ?? 1);
  }

  /** Keeps a version's `minInstances` warm from now until it is retired. */
  prewarm(spec: ProcSpec): void {
    const group = this.#group(spec);
    group.pinned = true;
    this.#fill(group, this.#limits(group).min);
  }

  /** No new calls reach these versions (`prefix`: a version key, or `ns/fn@` for all): their procs go. */
  retire(prefix: string, exact = false): void {
    for (const group of this.#groups.values()) {
      if ((exact ? group.key !== prefix : !group.key.startsWith(prefix)) || group.retired) continue;
      group.retired = true;
      for (const slot of [...group.slots.values()]) {
        if (slot.inFlight === 0) this.#evict(slot, 'retired');
      }
      if (group.slots.size === 0 && group.inFlight === 0) this.#drop(group);
    }
  }

  /** A host died with all its procs; its calls are answered by the driver. */
  dropHost(host: number): void {
    for (const slot of [...this.#slots.values()]) {
      if (slot.host === host) this.#remove(slot);
    }
    for (const group of this.#groups.values()) for (const wake of group.waiters.splice(0)) wake();
  }

  /** What a host measured: `[procId, bytes]` for its procs. */
  reportMemory(entries: [number, number][]): void {
    for (const [id, bytes] of entries) {
      const slot = this.#slots.get(id);
      if (!slot) continue;
      this.#measure(slot, bytes);
    }
    this.#makeRoom(0, null);
  }

  /** One autoscaler round: record demand, pre-warm toward it, evict surplus and expired procs. */
  tick(): void {
    const now = this.now();
    for (const group of [...this.#groups.values()]) {
      const ready = [...group.slots.values()].filter((s) => s.state === 'ready').length;
      group.autoscaler.record(now, group.meter.take(now));
      group.decision = group.autoscaler.decide(now, ready);
      if (group.retired) {
        if (group.slots.size === 0 && group.inFlight === 0) this.#drop(group);
        continue;
      }
      const { min, max, keepAliveMs } = this.#limits(group);
      const recent = group.lastUsed !== null && now - group.lastUsed < keepAliveMs;
      // A version idle past its keep-alive goes down to minInstances whatever the autoscaler's
      // window still remembers: otherwise a proc evicted for idleness is made again at once.
      const busy = recent || group.inFlight > 0;
      const want = Math.min(max, Math.max(min, busy ? Math.max(group.decision.desired, 1) : 0));
      this.#fill(group, want);
      const idle = [...group.slots.values()]
        .filter((s) => s.state === 'ready' && s.inFlight === 0)
        .sort((a, b) => a.lastUsed - b.lastUsed);
      for (const slot of idle) {
        if (group.slots.size <= min) break;
        if (now - slot.lastUsed >= keepAliveMs) this.#evict(slot, 'keepalive');
        else if (group.slots.size > want) this.#evict(slot, 'scaledown');
      }
      const unused = !group.pinned && group.slots.size === 0 && group.inFlight === 0;
      if (unused && group.waiters.length === 0 && group.autoscaler.idle(now)) this.#drop(group);
    }
  }

  stats(): SchedulerStats {
    const versions: VersionProcs[] = [];
    let memoryBytes = 0;
    for (const group of this.#groups.values()) {
      const row: VersionProcs = {
        namespace: group.spec.namespace,
        fn: group.spec.fn,
        version: group.spec.version,
        starting: 0,
        idle: 0,
        busy: 0,
        inFlight: group.inFlight,
        perHost: new Array<number>(
          this.backend.hostCount + (this.backend.backgroundHost === undefined ? 0 : 1),
        ).fill(0),
        waiting: group.waiters.length,
        desired: group.decision.desired,
        panic: group.decision.panic,
        memoryBytes: 0,
      };
      for (const slot of group.slots.values()) {
        if (slot.state === 'starting') row.starting++;
        else if (slot.inFlight > 0) row.busy++;
        else row.idle++;
        row.memoryBytes += this.#charge(slot);
        row.perHost[slot.host] = (row.perHost[slot.host] ?? 0) + 1;
      }
      memoryBytes += row.memoryBytes;
      versions.push(row);
    }
    return {
      versions,
      procs: this.#slots.size,
      memoryBytes,
      memoryBudgetBytes: this.#options.memoryBudget.bytes,
      evictions: { ...this.#evictions },
    };
  }

  #group(spec: ProcSpec): Group {
    const existing = this.#groups.get(spec.key);
    // A deleted function deployed again with the same code gets the same key: start afresh.
    if (existing && !existing.retired) return existing;
    // A process instance gets no new proc while its evicted one (of this or an older version of
    // its class) still runs events: the caller waits on that retired group.
    const identity = instanceIdentity(spec);
    const previous = identity === null ? undefined : this.#instances.get(identity);
    if (previous?.retired && previous.slots.size > 0) return previous;
    const now = this.now();
    const concurrency = spec.scaling.concurrency ?? 1;
    const group: Group = {
      key: spec.key,
      spec,
      slots: new Map(),
      waiters: [],
      meter: new ConcurrencyMeter(now),
      autoscaler: new Autoscaler({
        target: concurrency * this.#options.targetUtilization,
        stableWindowMs: this.#options.stableWindowMs,
        panicWindowMs: this.#options.panicWindowMs,
      }),
      decision: { desired: 0, panic: false, stableConcurrency: 0, panicConcurrency: 0 },
      inFlight: 0,
      lastUsed: null,
      retired: false,
      pinned: false,
      spawnFailedAt: -Infinity,
    };
    this.#groups.set(spec.key, group);
    if (identity !== null) this.#instances.set(identity, group);
    return group;
  }

  #limits(group: Group): { min: number; max: number; keepAliveMs: number; concurrency: number } {
    const s = group.spec.scaling;
    const max = s.maxInstances ?? this.#options.maxProcsPerVersion;
    return {
      max,
      min: Math.min(s.minInstances ?? 0, max),
      keepAliveMs: s.keepAliveMs ?? this.#options.keepAliveMs,
      concurrency: s.concurrency ?? 1,
    };
  }

  /** The ready proc with room and the fewest calls; among equals the most recently used. */
  #pick(group: Group): Slot | undefined {
    const { concurrency } = this.#limits(group);
    let best: Slot | undefined;
    for (const slot of group.slots.values()) {
      if (slot.state !== 'ready' || slot.inFlight >= concurrency) continue;
      if (
        !best ||
        slot.inFlight < best.inFlight ||
        (slot.inFlight === best.inFlight && slot.lastUsed > best.lastUsed)
      )
        best = slot;
    }
    return best;
  }

  #drop(group: Group): void {
    this.#groups.delete(group.key);
    const identity = instanceIdentity(group.spec);
    if (identity !== null && this.#instances.get(identity) === group) this.#instances.delete(identity);
  }

  /** Any live proc of the group, full or not. */
  #any(group: Group): Slot | undefined {
    for (const slot of group.slots.values()) if (!slot.gone) return slot;
    return undefined;
  }

  /** Whether a proc of this key is live (a process instance is swapped in). */
  isLive(key: string): boolean {
    const group = this.#groups.get(key);
    return group !== undefined && !group.retired && this.#any(group) !== undefined;
  }

  /** The measured heap of the procs of this key. (bytes) */
  memoryOf(key: string): number {
    let bytes = 0;
    for (const slot of this.#groups.get(key)?.slots.values() ?? []) bytes += slot.memoryBytes ?? 0;
    return bytes;
  }

  #lease(slot: Slot, cold: boolean): Lease {
    const lease: Lease = { id: slot.id, host: slot.host, cold };
    this.#leases.set(lease, slot);
    const group = slot.group;
    const now = this.now();
    slot.inFlight++;
    slot.lastUsed = now;
    group.inFlight++;
    group.lastUsed = now;
    group.meter.set(now, group.inFlight);
    return lease;
  }

  /** Makes a slot. `demand`: a call is waiting for it, so a full budget is that call's 429. */
  #create(group: Group, state: Slot['state'], demand: boolean): Slot {
    if (!this.#makeRoom(this.#estimate(), group)) {
      if (demand)
        throw new ProcyonError(
          'PROCYON_TOO_MANY_REQUESTS',
          `the node's memory budget for procs (${Math.round(this.#options.memoryBudget.bytes / 2 ** 20)} MiB) is held by busy procs; retry shortly`,
          { details: { retryAfterSeconds: 1 } },
        );
    }
    const slot: Slot = {
      id: this.#nextId++,
      host: this.#place(group),
      group,
      state,
      inFlight: 0,
      lastUsed: this.now(),
      memoryBytes: null,
      gone: false,
    };
    group.slots.set(slot.id, slot);
    this.#slots.set(slot.id, slot);
    return slot;
  }

  /** Pre-warms procs until the version has `count` (or its budget or a recent failure says stop). */
  #fill(group: Group, count: number): void {
    if (this.now() - group.spawnFailedAt < SPAWN_RETRY_MS) return;
    while (group.slots.size < count && !group.retired) {
      if (!this.#makeRoom(this.#estimate(), group)) return;
      const slot = this.#create(group, 'starting', false);
      this.backend.spawn(slot.id, slot.host, group.spec).then(
        () => {
          if (slot.gone) return;
          slot.state = 'ready';
          slot.lastUsed = this.now();
          if (group.retired) this.#evict(slot, 'retired');
          else group.waiters.shift()?.();
        },
        () => {
          group.spawnFailedAt = this.now();
          this.#remove(slot);
        },
      );
    }
  }

  /**
   * A CPU-heavy function's procs go to the background host. Others: the host with the fewest procs
   * of this version; then the least busy; then the home host.
   */
  #place(group: Group): number {
    const { spec } = group;
    const background = this.backend.backgroundHost;
    if (background !== undefined && this.#options.heavy?.(spec.namespace, spec.fn)) return background;
    const hosts = this.backend.hostCount;
    const mine = new Array<number>(hosts).fill(0);
    const load = new Array<number>(hosts).fill(0);
    for (const slot of group.slots.values()) mine[slot.host] = (mine[slot.host] ?? 0) + 1;
    for (const slot of this.#slots.values()) load[slot.host] = (load[slot.host] ?? 0) + slot.inFlight;
    const home = this.#options.homeHost?.(spec.namespace) ?? 0;
    let best = home;
    for (let h = 0; h < hosts; h++) {
      const [bm, bl, hm, hl] = [mine[best] ?? 0, load[best] ?? 0, mine[h] ?? 0, load[h] ?? 0];
      if (hm < bm || (hm === bm && hl < bl)) best = h;
    }
    return best;
  }

  #measure(slot: Slot, bytes: number | null): void {
    if (slot.memoryBytes !== null) {
      this.#measured.bytes -= slot.memoryBytes;
      this.#measured.procs--;
    }
    slot.memoryBytes = bytes;
    if (bytes !== null) {
      this.#measured.bytes += bytes;
      this.#measured.procs++;
    }
  }

  #charge(slot: Slot): number {
    return slot.memoryBytes ?? this.#estimate();
  }

  /** What an unmeasured proc likely uses: the average of measured ones, else the configured estimate. */
  #estimate(): number {
    const { bytes, procs } = this.#measured;
    return procs === 0 ? this.#options.procMemoryEstimateBytes : bytes / procs;
  }

  /** Evicts idle procs of this or another scheduler sharing the budget until `bytes` more fit. */
  #makeRoom(bytes: number, forGroup: Group | null): boolean {
    return this.#options.memoryBudget.makeRoom(bytes, forGroup);
  }

  /** Procs the budget may evict for room: ready, no call in flight. */
  #idle(): Evictable[] {
    const idle: Evictable[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.state !== 'ready' || slot.inFlight > 0) continue;
      idle.push({
        bytes: this.#charge(slot),
        lastUsed: slot.lastUsed,
        // Part of its version's minInstances: goes last under pressure.
        pinned: slot.group.slots.size <= this.#limits(slot.group).min,
        group: slot.group,
        evict: () => this.#evict(slot, 'memory'),
      });
    }
    return idle;
  }

  #evict(slot: Slot, reason: EvictReason): void {
    this.#remove(slot);
    this.#evictions[reason]++;
    let last = true;
    for (const other of slot.group.slots.values()) if (other.host === slot.host) last = false;
    this.backend.evict(slot.id, slot.host, slot.group.key, last);
  }

  #remove(slot: Slot): void {
    if (slot.gone) return;
    slot.gone = true;
    this.#measure(slot, null);
    slot.group.slots.delete(slot.id);
    this.#slots.delete(slot.id);
  }
}
