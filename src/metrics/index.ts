/**
 * Prometheus metrics (prom-client) for `GET /metrics`: one registry per node (no global state),
 * fed by every activation record, plus gauges read from the node when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SchedulerStats } from '../scheduler/index.js';
import type { ActivationRecord } from '../store/index.js';

/** Call durations, in seconds: from a warm hello (~1 ms) to the longest timeout. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];

// Function properties, not methods: the metrics read them as unbound callbacks.
export interface NodeGauges {
  inFlight: () => number;
  isolateHosts: () => number;
  hostRestarts: () => number;
  pendingActivationWrites: () => number;
  /** Calls waiting in admission for a slot. */
  queueDepth: () => number;
  procs: () => SchedulerStats;
  /** Resident memory of each isolate host, as last reported. (bytes) */
  hostRss: () => number[];
  /** ArrayBuffers and WebAssembly memories of each isolate host's procs, as last reported. (bytes) */
  hostExternal: () => number[];
  /** Procs disposed for going past their memory limit, by reason (heap, external, wasm). */
  memoryKills: () => Record<string, number>;
  /** Long-running procs of native-driver functions, by state. */
  spawned: () => Record<string, number>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #invocations: Counter<'namespace' | 'function' | 'trigger' | 'status'>;
  readonly #errors: Counter<'namespace' | 'function' | 'code'>;
  readonly #coldStarts: Counter<'namespace' | 'function'>;
  readonly #swapIns: Counter<'namespace' | 'class'>;
  readonly #duration: Histogram<'namespace' | 'function'>;
  readonly #billed: Counter<'namespace'>;
  readonly #gbSeconds: Counter<'namespace'>;

  constructor(gauges: NodeGauges) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'procyon_node_' });
    this.#invocations = new Counter({
      name: 'procyon_invocations_total',
      help: 'Invocations by final status',
      labelNames: ['namespace', 'function', 'trigger', 'status'],
      registers,
    });
    this.#errors = new Counter({
      name: 'procyon_invocation_errors_total',
      help: 'Failed invocations by error code',
      labelNames: ['namespace', 'function', 'code'],
      registers,
    });
    this.#coldStarts = new Counter({
      name: 'procyon_cold_starts_total',
      help: 'Invocations that needed a new isolate',
      labelNames: ['namespace', 'function'],
      registers,
    });
    this.#swapIns = new Counter({
      name: 'procyon_proc_swap_ins_total',
      help: 'Process instances revived: events that needed a new isolate for their instance',
      labelNames: ['namespace', 'class'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'procyon_invocation_duration_seconds',
      help: 'Invocation duration, tail (streamed body, waitUntil) included',
      labelNames: ['namespace', 'function'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#billed = new Counter({
      name: 'procyon_billed_milliseconds_total',
      help: 'Billed duration (each activation rounded up to 1 ms)',
      labelNames: ['namespace'],
      registers,
    });
    this.#gbSeconds = new Counter({
      name: 'procyon_gb_seconds_total',
      help: 'Billed memory-time: memory GB x billed seconds',
      labelNames: ['namespace'],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('procyon_invocations_in_flight', 'Calls running now (tails included)', gauges.inFlight);
    gauge('procyon_isolate_hosts', 'Isolate host processes', gauges.isolateHosts);
    gauge(
      'procyon_isolate_host_restarts',
      'Isolate host restarts since the node started',
      gauges.hostRestarts,
    );
    gauge(
      'procyon_activation_writes_pending',
      'Activation records waiting for their batch write',
      gauges.pendingActivationWrites,
    );
    gauge('procyon_queue_depth', 'Calls waiting for an admission slot', gauges.queueDepth);
    new Gauge({
      name: 'procyon_spawned_procs',
      help: 'Long-running procs of native-driver functions, by state: starting, running, stopping, exited',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(gauges.spawned())) this.set({ state }, n);
      },
    });
    this.#schedulerMetrics(gauges, registers);
  }

  /** Procs per function and state, autoscaler wishes, memory, evictions: read at scrape time. */
  #schedulerMetrics(gauges: NodeGauges, registers: Registry[]): void {
    new Gauge({
      name: 'procyon_procs',
      help: 'Procs (warm isolates) per function and state: starting, idle, busy',
      labelNames: ['namespace', 'function', 'state'],
      registers,
      collect() {
        this.reset();
        for (const v of gauges.procs().versions) {
          const fn = { namespace: v.namespace, function: v.fn };
          this.inc({ ...fn, state: 'starting' }, v.starting);
          this.inc({ ...fn, state: 'idle' }, v.idle);
          this.inc({ ...fn, state: 'busy' }, v.busy);
        }
      },
    });
    new Gauge({
      name: 'procyon_procs_desired',
      help: 'Procs the autoscaler wants per function (KPA), before minInstances and keep-alive',
      labelNames: ['namespace', 'function'],
      registers,
      collect() {
        this.reset();
        for (const v of gauges.procs().versions)
          this.inc({ namespace: v.namespace, function: v.fn }, v.desired);
      },
    });
    new Gauge({
      name: 'procyon_proc_waiting',
      help: 'Calls waiting for a proc of their function (at maxInstances)',
      labelNames: ['namespace', 'function'],
      registers,
      collect() {
        this.reset();
        for (const v of gauges.procs().versions)
          if (v.waiting > 0) this.inc({ namespace: v.namespace, function: v.fn }, v.waiting);
      },
    });
    new Gauge({
      name: 'procyon_proc_memory_bytes',
      help: 'Heap held by all procs (measured by the hosts; estimated for new procs)',
      registers,
      collect() {
        this.set(gauges.procs().memoryBytes);
      },
    });
    new Gauge({
      name: 'procyon_proc_memory_budget_bytes',
      help: 'Memory budget for procs; beyond it idle procs are evicted, least recently used first',
      registers,
      collect() {
        this.set(gauges.procs().memoryBudgetBytes);
      },
    });
    new Gauge({
      name: 'procyon_isolate_host_rss_bytes',
      help: 'Resident memory of each isolate host process',
      labelNames: ['host'],
      registers,
      collect() {
        gauges.hostRss().forEach((rss, host) => this.set({ host: String(host) }, rss));
      },
    });
    new Gauge({
      name: 'procyon_isolate_host_external_memory_bytes',
      help: "ArrayBuffers and WebAssembly memories held by each isolate host's procs (counted against their functions' memory)",
      labelNames: ['host'],
      registers,
      collect() {
        gauges.hostExternal().forEach((bytes, host) => this.set({ host: String(host) }, bytes));
      },
    });
    const killed: Record<string, number> = {};
    new Counter({
      name: 'procyon_memory_limit_kills_total',
      help: 'Procs disposed for going past their memory limit, by reason: heap, external (ArrayBuffers), wasm',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, n] of Object.entries(gauges.memoryKills())) {
          this.inc({ reason }, n - (killed[reason] ?? 0));
          killed[reason] = n;
        }
      },
    });
    const seen: Record<string, number> = {};
    new Counter({
      name: 'procyon_proc_evictions_total',
      help: 'Procs evicted, by reason: keepalive, scaledown, memory, retired',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, n] of Object.entries(gauges.procs().evictions)) {
          this.inc({ reason }, n - (seen[reason] ?? 0));
          seen[reason] = n;
        }
      },
    });
  }

  observe(a: ActivationRecord): void {
    const fn = { namespace: a.namespace, function: a.fn };
    this.#invocations.inc({ ...fn, trigger: a.trigger, status: a.status });
    if (a.errorCode) this.#errors.inc({ ...fn, code: a.errorCode });
    if (a.cold) this.#coldStarts.inc(fn);
    // An instance's cold start is its swap-in: the class plus its constructor, from storage.
    if (a.cold && a.instance && a.trigger !== 'spawn')
      this.#swapIns.inc({ namespace: a.namespace, class: a.fn });
    this.#duration.observe(fn, a.durationMs / 1000);
    this.#billed.inc({ namespace: a.namespace }, a.billedMs);
    this.#gbSeconds.inc({ namespace: a.namespace }, a.gbSeconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
