/**
 * Writes activation records in batches, off the hot path: a call only pushes to an array. A
 * failed write keeps the batch for the next attempt, so a brief store outage loses nothing.
 */
import type { Logger } from '../logger.js';
import type { ActivationRecord, Store } from '../store/index.js';

/** A batch is written as soon as this many records wait. */
const MAX_BATCH = 500;

export class ActivationRecorder {
  #pending: ActivationRecord[] = [];
  #flushing: Promise<void> | null = null;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    flushEveryMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(), flushEveryMs);
    this.#timer.unref();
  }

  add(record: ActivationRecord): void {
    this.#pending.push(record);
    if (this.#pending.length >= MAX_BATCH) void this.flush();
  }

  /** A record not yet written, so that reads right after a call see it. */
  find(namespace: string, id: string): ActivationRecord | undefined {
    return this.#pending.find((r) => r.id === id && r.namespace === namespace);
  }

  pendingFor(namespace: string): readonly ActivationRecord[] {
    return this.#pending.filter((r) => r.namespace === namespace);
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Writes everything queued so far; concurrent callers share one write. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#flushing = this.store
      .insertActivations(batch)
      .catch((err: unknown) => {
        this.#pending = batch.concat(this.#pending);
        this.logger.error({ err, records: batch.length }, 'activation write failed; will retry');
      })
      .finally(() => {
        this.#flushing = null;
      });
    await this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
