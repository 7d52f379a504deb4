/**
 * Alarms of process instances (docs/processes.md): at-least-once. They live in the store, so they
 * survive restarts; the node keeps one timer for the earliest. A due alarm runs the instance's
 * `alarm()`; a failure is retried after 1 s, 2 s, 4 s ... up to MAX_RETRIES times, then dropped
 * (its activations say why). An alarm the handler set again while it ran is kept.
 */
import type { Logger } from '../logger.js';
import type { ProcKey, ProcStore } from '../store/index.js';

/** The part of the store alarms use. */
export interface AlarmStore {
  procs: Pick<ProcStore, 'listAlarms' | 'setAlarm' | 'getAlarm' | 'deleteAlarm'>;
}

export const MAX_RETRIES = 6;
const FIRST_BACKOFF_MS = 1_000;
/** setTimeout's longest delay; later alarms re-arm when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface AlarmClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

const realClock: AlarmClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
};

interface Pending {
  id: ProcKey;
  /** When it runs next (its stored time, or a retry's). (epoch ms) */
  at: number;
  /** The time the store holds for it. (epoch ms) */
  stored: number;
  /** Failed attempts so far. */
  retries: number;
}

const idOf = (id: ProcKey): string => `${id.namespace}/${id.className}/${id.name}`;

export class AlarmScheduler {
  readonly #store: AlarmStore;
  readonly #fire: (id: ProcKey, retryCount: number) => Promise<void>;
  readonly #logger: Logger;
  readonly #clock: AlarmClock;
  readonly #pending = new Map<string, Pending>();
  /** Alarms whose handler is running now. */
  readonly #running = new Set<string>();
  /** The last store write queued per instance (see `#serial`). */
  readonly #writes = new Map<string, Promise<void>>();
  #timer: { clear(): void } | null = null;
  #stopped = false;

  constructor(deps: {
    store: AlarmStore;
    fire: (id: ProcKey, retryCount: number) => Promise<void>;
    logger: Logger;
    clock?: AlarmClock;
  }) {
    this.#store = deps.store;
    this.#fire = deps.fire;
    this.#logger = deps.logger;
    this.#clock = deps.clock ?? realClock;
  }

  /** Loads the stored alarms; those due while the node was down fire at once. */
  async start(): Promise<void> {
    for (const alarm of await this.#store.procs.listAlarms()) {
      this.#pending.set(idOf(alarm), { id: alarm, at: alarm.at, stored: alarm.at, retries: 0 });
    }
    this.#arm();
  }

  async set(id: ProcKey, at: number): Promise<void> {
    await this.#serial(idOf(id), async () => {
      await this.#store.procs.setAlarm(id, at);
      this.#pending.set(idOf(id), { id, at, stored: at, retries: 0 });
    });
    this.#arm();
  }

  async delete(id: ProcKey): Promise<void> {
    await this.#serial(idOf(id), async () => {
      await this.#store.procs.deleteAlarm(id);
      this.#pending.delete(idOf(id));
    });
    this.#arm();
  }

  /**
   * Runs one instance's alarm writes one after another. Removing a delivered alarm reads, then
   * deletes; a `set` landing between the two would otherwise be deleted with it and lost at the
   * next restart.
   */
  #serial(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.#writes.get(key) ?? Promise.resolve()).then(work);
    const settled = next.catch(() => undefined);
    this.#writes.set(key, settled);
    void settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return next;
  }

  /** An instance was deleted with its alarm. */
  forget(id: ProcKey): void {
    this.#pending.delete(idOf(id));
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.clear();
    this.#timer = null;
  }

  #arm(): void {
    this.#timer?.clear();
    this.#timer = null;
    if (this.#stopped) return;
    let next = Infinity;
    for (const [key, p] of this.#pending) if (!this.#running.has(key)) next = Math.min(next, p.at);
    if (next === Infinity) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, next - this.#clock.now()));
    this.#timer = this.#clock.setTimeout(() => this.#due(), delay);
  }

  #due(): void {
    this.#timer = null;
    const now = this.#clock.now();
    for (const [key, p] of this.#pending) {
      if (p.at <= now && !this.#running.has(key)) void this.#run(key, p);
    }
    this.#arm();
  }

  async #run(key: string, p: Pending): Promise<void> {
    this.#running.add(key);
    let ok = false;
    try {
      await this.#fire(p.id, p.retries);
      ok = true;
    } catch (err) {
      this.#logger.debug({ err, instance: key, retry: p.retries }, 'alarm failed');
    } finally {
      this.#running.delete(key);
    }
    const current = this.#pending.get(key);
    // The handler set a new alarm (or deleted this one) while it ran: that decision stands.
    if (current !== p) return this.#arm();
    if (ok) {
      this.#pending.delete(key);
      await this.#deleteIfUnchanged(p);
    } else if (p.retries < MAX_RETRIES) {
      p.retries++;
      p.at = this.#clock.now() + FIRST_BACKOFF_MS * 2 ** (p.retries - 1);
    } else {
      this.#logger.warn({ instance: key, retries: p.retries }, 'alarm dropped after its retries failed');
      this.#pending.delete(key);
      await this.#deleteIfUnchanged(p);
    }
    this.#arm();
  }

  /** Removes the stored alarm that ran, unless a newer one has replaced it. */
  async #deleteIfUnchanged(p: Pending): Promise<void> {
    const key = idOf(p.id);
    await this.#serial(key, async () => {
      if (this.#pending.has(key)) return;
      if ((await this.#store.procs.getAlarm(p.id)) === p.stored) await this.#store.procs.deleteAlarm(p.id);
    }).catch((err: unknown) => {
      // It stays stored and runs again after a restart: at-least-once allows that.
      this.#logger.warn({ err, instance: key }, 'could not remove a delivered alarm');
    });
  }
}
