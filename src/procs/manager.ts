/**
 * The node's process manager (docs/processes.md): resolves (namespace, class, name) to a process
 * class, bounds each instance's mailbox, and runs every event through the invoker, whose scheduler
 * keeps at most one proc per instance. It also keeps the instance directory's last-activity times
 * (written in batches, not once per event) and answers `list`/`get`/`evict`/`delete`. One-way
 * messages are stored before `send` resolves and removed once delivered (`redeliver` hands over
 * what a killed node left), so an accepted message survives a crash.
 */
import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { ProcyonError } from '../errors.js';
import type { InvocationInput, InvocationResult, Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/index.js';
import type { HttpRequestData, HttpResponseData, MessageFrom } from '../sandbox/index.js';
import type { ProcKey, ProcMessageRecord, Store, Trigger } from '../store/index.js';
import { checkAddress } from '../names.js';
import type { Caller, InstanceAddress, InstanceInfo, ProcessManager } from './types.js';

/** What the manager needs of the scheduler: whether an instance is swapped in, and evicting it. */
export interface InstanceProcs {
  isLive(key: string): boolean;
  memoryOf(key: string): number;
  retire(key: string, exact: boolean): void;
}

export interface ProcessManagerDeps {
  registry: Registry;
  store: Store;
  /** Only `invoke` is used: every event is one invocation. */
  invoker: Pick<Invoker, 'invoke'>;
  procs: InstanceProcs;
  logger: Logger;
  /** Events one instance may have waiting or running. */
  mailbox: number;
}

/** Last-activity times are written this often. (ms) */
const TOUCH_FLUSH_MS = 1_000;

const idOf = (a: InstanceAddress): string => `${a.namespace}/${a.className}/${a.name}`;

export class Processes implements ProcessManager {
  readonly #deps: ProcessManagerDeps;
  /** Events waiting or running per instance (`ns/Class/name`). */
  readonly #mailboxes = new Map<string, number>();
  /** Last activity not yet written. */
  readonly #touched = new Map<string, { id: ProcKey; at: number }>();
  readonly #timer: NodeJS.Timeout;
  /** Per instance, the hand-over of its last admitted event, while one is pending (see #start). */
  readonly #turns = new Map<string, Promise<void>>();
  /** The last activity write failed (logged once per outage, not once per second). */
  #touchFailing = false;
  /** Told when an instance is deleted (its alarm goes with it). */
  onDelete: (id: ProcKey) => void = () => undefined;

  constructor(deps: ProcessManagerDeps) {
    this.#deps = deps;
    this.#timer = setInterval(() => void this.flush(), TOUCH_FLUSH_MS);
    this.#timer.unref();
  }

  /** The class's current spec key: its instance procs are this key + `#name`. */
  #classKey(address: InstanceAddress): string {
    const deployed = this.#deps.registry.get(address.namespace, address.className);
    if (!deployed) {
      throw new ProcyonError(
        'PROCYON_FN_NOT_FOUND',
        `process class "${address.className}" not found in namespace "${address.namespace}"`,
      );
    }
    if (deployed.version.style !== 'process') {
      throw new ProcyonError(
        'PROCYON_BAD_REQUEST',
        `"${address.className}" is a function, not a process class: call it at /fn/${address.namespace}/${address.className}`,
      );
    }
    return deployed.spec.key;
  }

  /**
   * Takes a mailbox place for one event (or throws 429); the returned function gives it back.
   * `bounded: false` for messages accepted before a restart: they were promised already.
   */
  #admit(address: InstanceAddress, bounded = true): () => void {
    checkAddress(address);
    this.#classKey(address);
    const id = idOf(address);
    const n = this.#mailboxes.get(id) ?? 0;
    if (bounded && n >= this.#deps.mailbox) {
      throw new ProcyonError(
        'PROCYON_MAILBOX_FULL',
        `the mailbox of ${address.className}/${address.name} is full (${this.#deps.mailbox} events waiting or running); retry later`,
        { details: { retryAfterSeconds: 1 } },
      );
    }
    this.#mailboxes.set(id, n + 1);
    this.#touched.set(id, {
      id: { namespace: address.namespace, className: address.className, name: address.name },
      at: Date.now(),
    });
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.#mailboxes.get(id) ?? 1) - 1;
      if (left > 0) this.#mailboxes.set(id, left);
      else this.#mailboxes.delete(id);
    };
  }

  #invoke(
    address: InstanceAddress,
    input: InvocationInput,
    caller: Caller,
    trigger: Trigger,
  ): Promise<InvocationResult> {
    return this.#start(address, input, caller, trigger).then((started) => started.result);
  }

  /**
   * Hands the event to the invoker once every event admitted before it on the instance has been
   * handed over, running `prepare` (storing a message) first: events from one sender start in the
   * order sent even when one of them must wait for the store. Resolves when handed over (the
   * result is wrapped so that this does not wait for the event itself); rejects if `prepare` does.
   */
  #start(
    address: InstanceAddress,
    input: InvocationInput,
    caller: Caller,
    trigger: Trigger,
    prepare?: () => Promise<void>,
  ): Promise<{ result: Promise<InvocationResult> }> {
    const hand = (): { result: Promise<InvocationResult> } => ({
      result: this.#deps.invoker.invoke({
        namespace: address.namespace,
        fn: address.className,
        instance: address.name,
        trigger,
        input,
        ...(caller.parentId === undefined ? {} : { parentId: caller.parentId }),
        ...(caller.depth === undefined ? {} : { depth: caller.depth }),
      }),
    });
    const id = idOf(address);
    const before = this.#turns.get(id);
    if (!before && !prepare) return Promise.resolve(hand());
    const mine = (before ?? Promise.resolve()).then(async () => {
      await prepare?.();
      return hand();
    });
    const turn = mine.then(
      () => undefined,
      () => undefined,
    );
    this.#turns.set(id, turn);
    void turn.then(() => {
      if (this.#turns.get(id) === turn) this.#turns.delete(id);
    });
    return mine;
  }

  async fetch(
    address: InstanceAddress,
    request: HttpRequestData,
    caller: Caller,
  ): Promise<{ activationId: string; response: HttpResponseData; body?: AsyncIterable<Uint8Array> }> {
    const release = this.#admit(address);
    try {
      const route = { routeKey: 'ANY /{proxy+}', pathParameters: {} };
      const result = await this.#invoke(address, { kind: 'http', request, route }, caller, 'http');
      if (result.kind !== 'http')
        throw new ProcyonError('PROCYON_INTERNAL', 'the instance did not answer with HTTP');
      return result;
    } finally {
      release();
    }
  }

  async call(
    address: InstanceAddress,
    message: unknown,
    caller: Caller,
  ): Promise<{ activationId: string; reply: unknown }> {
    const release = this.#admit(address);
    try {
      const input = { kind: 'message' as const, from: caller.from, message, reply: true };
      const result = await this.#invoke(address, input, caller, 'message');
      return { activationId: result.activationId, reply: result.kind === 'event' ? result.value : null };
    } finally {
      release();
    }
  }

  async send(address: InstanceAddress, message: unknown, caller: Caller): Promise<{ id: string }> {
    // Admitted now, in the caller's order; the event runs on without the sender.
    const release = this.#admit(address);
    const record: ProcMessageRecord = {
      id: randomUUID(),
      namespace: address.namespace,
      className: address.className,
      name: address.name,
      from: JSON.stringify(caller.from),
      parentId: caller.parentId ?? null,
      message: serialize(message),
      createdAt: Date.now(),
    };
    // Accepted means durable: committed before the sender hears so (a full disk: 503, not a
    // promise the node cannot keep).
    const store = (): Promise<void> => this.#deps.store.procs.enqueueMessage(record);
    await this.#deliver(address, record.id, message, caller, release, store);
    return { id: record.id };
  }

  /**
   * Hands a stored message over, and removes it once it ran; a node that dies first delivers it
   * again after its restart. Resolves when handed over; rejects (mailbox place given back) if
   * `prepare` fails.
   */
  async #deliver(
    address: InstanceAddress,
    id: string,
    message: unknown,
    caller: Caller,
    release: () => void,
    prepare?: () => Promise<void>,
  ): Promise<void> {
    const from: MessageFrom = { ...caller.from, messageId: id };
    const input = { kind: 'message' as const, from, message, reply: false };
    let started: { result: Promise<InvocationResult> };
    try {
      started = await this.#start(address, input, caller, 'message', prepare);
    } catch (err) {
      release();
      throw err;
    }
    started.result
      .then(
        () => true,
        (err: unknown) => {
          // The activation records the failure; the sender was only promised delivery. A node
          // that refused it while stopping keeps it stored for its next start.
          this.#deps.logger.debug(
            { err, instance: idOf(address), messageId: id },
            'a one-way message failed',
          );
          return !(err instanceof ProcyonError && err.code === 'PROCYON_SHUTTING_DOWN');
        },
      )
      .then(async (delivered) => {
        if (delivered) await this.#deps.store.procs.deleteMessage(id);
      })
      .catch((err: unknown) => {
        this.#deps.logger.warn(
          { err, messageId: id },
          'could not remove a delivered message; it is delivered again after a restart',
        );
      })
      .finally(release);
  }

  /**
   * Delivers the messages a previous run of the node accepted and did not deliver (killed, or
   * stopped before their turn), oldest first. Returns how many were handed over.
   */
  async redeliver(): Promise<number> {
    let handed = 0;
    for (const m of await this.#deps.store.procs.listMessages()) {
      const address = { namespace: m.namespace, className: m.className, name: m.name };
      let release: () => void;
      try {
        release = this.#admit(address, false);
      } catch (err) {
        // The class (or its namespace) is gone: nothing can take the message any more.
        this.#deps.logger.warn(
          { err, messageId: m.id },
          'dropping a stored message: its process class is gone',
        );
        await this.#deps.store.procs.deleteMessage(m.id);
        continue;
      }
      const caller: Caller = {
        from: JSON.parse(m.from) as MessageFrom,
        ...(m.parentId ? { parentId: m.parentId } : {}),
      };
      await this.#deliver(address, m.id, deserialize(m.message), caller, release);
      handed++;
    }
    return handed;
  }

  /** An alarm event (src/procs/alarms.ts): through the mailbox like any other event. */
  async alarm(address: InstanceAddress, retryCount: number): Promise<void> {
    const release = this.#admit(address);
    try {
      await this.#invoke(address, { kind: 'alarm', retryCount }, { from: { type: 'api' } }, 'alarm');
    } finally {
      release();
    }
  }

  async list(namespace: string, className?: string): Promise<InstanceInfo[]> {
    await this.flush();
    const rows = await this.#deps.store.procs.listInstances(namespace, className);
    return rows.map((row) => this.#info(row));
  }

  async get(address: InstanceAddress): Promise<InstanceInfo | undefined> {
    checkAddress(address);
    await this.flush();
    const row = await this.#deps.store.procs.getInstance(address);
    return row && this.#info(row);
  }

  #info(row: Awaited<ReturnType<Store['procs']['getInstance']>> & object): InstanceInfo {
    const deployed = this.#deps.registry.get(row.namespace, row.className);
    const key = deployed ? `${deployed.spec.key}#${row.name}` : null;
    const live = key !== null && this.#deps.procs.isLive(key);
    return {
      namespace: row.namespace,
      className: row.className,
      name: row.name,
      state: live ? 'active' : 'swapped',
      createdAt: row.createdAt,
      lastActiveAt: row.lastActiveAt,
      storageBytes: row.storageBytes,
      memoryBytes: live && key !== null ? this.#deps.procs.memoryOf(key) : 0,
      alarmAt: row.alarmAt,
    };
  }

  async evict(address: InstanceAddress): Promise<boolean> {
    checkAddress(address);
    const key = `${this.#classKey(address)}#${address.name}`;
    const live = this.#deps.procs.isLive(key);
    this.#deps.procs.retire(key, true);
    return live;
  }

  async delete(address: InstanceAddress): Promise<boolean> {
    checkAddress(address);
    // A class that was deleted may leave instances behind: those can still be deleted.
    const deployed = this.#deps.registry.get(address.namespace, address.className);
    const key = deployed && `${deployed.spec.key}#${address.name}`;
    const live = key !== undefined && this.#deps.procs.isLive(key);
    if (key !== undefined) this.#deps.procs.retire(key, true);
    // An instance seen in the last second may have no row yet: its activity is still pending.
    const pending = this.#touched.delete(idOf(address));
    this.onDelete(address);
    const stored = await this.#deps.store.procs.deleteInstance(address);
    return stored || pending || live;
  }

  /**
   * Writes pending last-activity times. Never throws (a timer calls it): what could not be written
   * stays pending for the next flush, unless a newer time for the instance came meanwhile.
   */
  async flush(): Promise<void> {
    const pending = [...this.#touched.values()];
    this.#touched.clear();
    for (const [i, { id, at }] of pending.entries()) {
      try {
        await this.#deps.store.procs.touch(id, at);
      } catch (err) {
        for (const p of pending.slice(i)) {
          const key = idOf(p.id);
          if ((this.#touched.get(key)?.at ?? -Infinity) < p.at) this.#touched.set(key, p);
        }
        if (!this.#touchFailing)
          this.#deps.logger.warn(
            { err, pending: this.#touched.size },
            'could not write instance activity; will retry',
          );
        this.#touchFailing = true;
        return;
      }
    }
    this.#touchFailing = false;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
