/**
 * Store faults as the rest of the node sees them. SQLite reports a full disk, an I/O error or a
 * damaged file as an exception whose text names files and internals, thrown from wherever the
 * node happened to touch the store (a request, a batch timer). `guardStore` turns every such
 * error into one coded 503 (`PROCYON_STORAGE_UNAVAILABLE`, the original kept as `cause` and logged
 * here once), and `StoreHealth` keeps the node's view of its store for `/healthz`: a fault makes
 * it unhealthy at once; a probe (src/store/types.ts `probe`) every `checkEveryMs` brings it back
 * once a write succeeds and no operation failed since the last probe, so traffic that still fails
 * keeps it down. A database file deleted under the node is found by the same probe, which also
 * runs while healthy; that fault is not cleared without a restart, and every operation is refused
 * meanwhile, since a write into the unlinked file would be acknowledged and then lost. While
 * unhealthy, operations that take on new work are refused up front (`NEW_WORK`).
 */
import { ProcyonError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from './types.js';

/** `reason` is short and names no file: /healthz shows it; the log has the whole story. */
export type StoreHealthState =
  { healthy: true } | { healthy: false; reason: string; /** epoch ms */ since: number };

/** SQLite result codes that say the store (disk, file, lock), not the query, is at fault. */
const FAULT_CODES =
  /^SQLITE_(FULL|IOERR|CORRUPT|NOTADB|CANTOPEN|READONLY|BUSY|LOCKED|PROTOCOL|NOMEM|NOLFS|PERM)/;

const UNAVAILABLE = 'the node cannot use its storage right now; retry later';

export interface StoreHealthOptions {
  store: Store;
  logger: Logger;
  /** How often the probe runs (file identity always; a write while unhealthy). @default 1000 (ms) */
  checkEveryMs?: number;
}

export class StoreHealth {
  readonly #store: Store;
  readonly #logger: Logger;
  #state: StoreHealthState = { healthy: true };
  /** An operation failed since the last probe: a probe alone does not prove recovery then. */
  #faultSinceProbe = false;
  /** The database file is gone: permanent until a restart. */
  #fileGone = false;
  #timer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | null = null;

  constructor(opts: StoreHealthOptions) {
    this.#store = opts.store;
    this.#logger = opts.logger;
    this.#timer = setInterval(() => void this.check(), opts.checkEveryMs ?? 1000);
    this.#timer.unref();
  }

  get state(): StoreHealthState {
    return this.#state;
  }

  /** Every operation is refused (the file they would use is gone). */
  get refusing(): boolean {
    return this.#fileGone;
  }

  /**
   * The error a caller of a store operation gets for `err`: a ProcyonError passes through (e.g.
   * PROCYON_STORAGE_LIMIT); a SQLite error becomes PROCYON_STORAGE_UNAVAILABLE, and if it is a
   * fault of the store the node turns unhealthy; anything else is a bug, PROCYON_INTERNAL.
   */
  fault(err: unknown, op: string): ProcyonError {
    if (err instanceof ProcyonError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) {
      this.#logger.error({ err, op }, 'store operation failed');
      return new ProcyonError('PROCYON_INTERNAL', 'internal storage error', { cause: err });
    }
    if (FAULT_CODES.test(code)) {
      const first = this.#state.healthy;
      this.#down(`${code} in ${op}`, err);
      // A fault may be the first sign of a deleted file; look now rather than at the next tick.
      if (first) void this.check();
      // Set after that probe has read it: that probe must not count as a quiet interval.
      this.#faultSinceProbe = true;
    } else this.#logger.error({ err, op }, 'store operation failed');
    return new ProcyonError('PROCYON_STORAGE_UNAVAILABLE', UNAVAILABLE, { cause: err });
  }

  /** The error for an operation refused without trying it. */
  refused(): ProcyonError {
    return new ProcyonError('PROCYON_STORAGE_UNAVAILABLE', UNAVAILABLE);
  }

  /** One probe; concurrent callers share it. Never throws. */
  check(): Promise<void> {
    this.#probing ??= this.#probe().finally(() => (this.#probing = null));
    return this.#probing;
  }

  async #probe(): Promise<void> {
    if (this.#fileGone) return;
    const faulted = this.#faultSinceProbe;
    this.#faultSinceProbe = false;
    try {
      await this.#store.probe({ write: !this.#state.healthy });
    } catch (err) {
      const details = err instanceof ProcyonError ? err.details : undefined;
      if (details?.permanent === true) this.#fileGone = true;
      const reason = typeof details?.reason === 'string' ? details.reason : 'storage probe failed';
      // A lost file outranks a fault already reported: it needs the operator, not patience.
      this.#down(reason, err, this.#fileGone);
      return;
    }
    if (this.#state.healthy || faulted) return;
    this.#logger.warn(
      { unhealthyMs: Date.now() - this.#state.since },
      'storage is available again; node healthy',
    );
    this.#state = { healthy: true };
  }

  #down(reason: string, err: unknown, escalate = false): void {
    if (!this.#state.healthy && !escalate) {
      this.#logger.debug({ err }, 'storage still unavailable');
      return;
    }
    this.#state = { healthy: false, reason, since: Date.now() };
    this.#logger.error({ err, reason }, 'storage unavailable; node unhealthy until it recovers');
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Operations that take on new work (a deploy, a KV put, a message accepted for later): refused
 * while the store is unhealthy, so that a full disk answers 503 at once, every time, instead of
 * sometimes accepting a write SQLite could squeeze into its log. Batches already accepted
 * (activation records, activity times) and removals still go through: they are retried, and
 * their failures are the evidence the health probe waits on.
 */
const NEW_WORK = new Set([
  'ensureNamespace',
  'insertApiKey',
  'revokeApiKey',
  'deploy',
  'deleteFunction',
  'putSecret',
  'deleteSecret',
  'kvPut',
  'putArtifact',
  'procs.write',
  'procs.setAlarm',
  'procs.enqueueMessage',
]);

/**
 * The store with every operation's errors mapped by `health.fault`. A Proxy rather than a class
 * restating each of the Store's methods: the mapping is the same for all of them, and a method
 * added to Store later is covered without a change here. Methods run on the real object, so
 * its private fields work.
 */
export function guardStore(store: Store, health: StoreHealth): Store {
  const procs = guard(store.procs, health, 'procs.');
  return guard(store, health, '', { procs });
}

function guard<T extends object>(target: T, health: StoreHealth, prefix: string, extra: Partial<T> = {}): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(extra, prop)) return extra[prop as keyof T];
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      // Bound to the real object either way: its methods use private fields.
      if (prop === 'close' || prop === 'probe') return (value as () => unknown).bind(t);
      const op = `${prefix}${String(prop)}`;
      return async (...args: unknown[]): Promise<unknown> => {
        if (health.refusing || (NEW_WORK.has(op) && !health.state.healthy)) throw health.refused();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        } catch (err) {
          throw health.fault(err, op);
        }
      };
    },
  });
}
