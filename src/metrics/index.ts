/**
 * Prometheus metrics (prom-client) for `GET /metrics`: one registry per node (no global state),
 * fed by every activation record, plus gauges read from the node when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActivationRecord } from '../store/index.js';

/** Call durations, in seconds: from a warm hello (~1 ms) to the longest timeout. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];

export interface NodeGauges {
  inFlight(): number;
  isolateHosts(): number;
  hostRestarts(): number;
  pendingActivationWrites(): number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #invocations: Counter<'namespace' | 'function' | 'trigger' | 'status'>;
  readonly #errors: Counter<'namespace' | 'function' | 'code'>;
  readonly #coldStarts: Counter<'namespace' | 'function'>;
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
  }

  observe(a: ActivationRecord): void {
    const fn = { namespace: a.namespace, function: a.fn };
    this.#invocations.inc({ ...fn, trigger: a.trigger, status: a.status });
    if (a.errorCode) this.#errors.inc({ ...fn, code: a.errorCode });
    if (a.cold) this.#coldStarts.inc(fn);
    this.#duration.observe(fn, a.durationMs / 1000);
    this.#billed.inc({ namespace: a.namespace }, a.billedMs);
    this.#gbSeconds.inc({ namespace: a.namespace }, a.gbSeconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
