/**
 * Writes activation records in batches, off the hot path: a call only pushes to an array. A
 * failed write keeps the batch for the next attempt, so a store outage (disk full) loses nothing
 * while the node runs. Loss window: a node killed outright (SIGKILL, OOM kill) loses the records
 * not yet written, i.e. calls that ended within the last flush interval (`activationFlushMs`,
 * default 200 ms) plus the time of the write in progress; a write that committed survives (SQLite
 * WAL with synchronous=NORMAL is durable across process crashes; a power cut may lose the last
 * transactions). test/e2e/record-loss.test.ts measures it.
 */
import type { Logger } from '../logger.js';
import type { ActivationRecord, Store } from '../store/index.js';

/** A batch is written as soon as this many records wait. */
const MAX_BATCH = 500;
/**
 * Records kept while the store refuses them (a long outage): past this many, the oldest are
 * dropped and counted, so an outage costs at most this much memory (records carry up to 64 KiB
 * of logs each) instead of growing until the node dies.
 */
export const MAX_PENDING = 10_000;

export class ActivationRecorder {
  #pending: ActivationRecord[] = [];
  #flushing: Promise<void> | null = null;
  /** The last write failed. */
  #failing = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    flushEveryMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(), flushEveryMs);
    this.#timer.unref();
  }

  /** Records dropped because the store refused them for too long (MAX_PENDING). */
  dropped = 0;

  add(record: ActivationRecord): void {
    this.#pending.push(record);
    if (this.#pending.length > MAX_PENDING) {
      const over = this.#pending.length - MAX_PENDING;
      this.#pending.splice(0, over);
      if (this.dropped === 0)
        this.logger.error({ max: MAX_PENDING }, 'activation records dropped: the store refuses them');
      this.dropped += over;
    }
    // While the store fails, the timer retries; a write per call would only fail faster.
    if (this.#pending.length >= MAX_BATCH && !this.#failing) void this.flush();
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
      .then(() => {
        if (this.#failing) this.logger.warn({ records: batch.length }, 'activation writes recovered');
        this.#failing = false;
      })
      .catch((err: unknown) => {
        this.#pending = batch.concat(this.#pending);
        // Once per outage: the timer retries every flush interval.
        if (!this.#failing)
          this.logger.error({ err, records: this.#pending.length }, 'activation write failed; will retry');
        this.#failing = true;
      })
      .finally(() => {
        this.#flushing = null;
      });
    await this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    // The store is failing at exit: these are lost, and the operator must hear how many.
    if (this.#pending.length > 0)
      this.logger.error(
        { records: this.#pending.length },
        'activation records lost: the store refused them until exit',
      );
  }
}
