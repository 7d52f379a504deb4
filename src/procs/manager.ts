/**
 * The node's process manager (docs/processes.md): resolves (namespace, class, name) to a process
 * class, bounds each instance's mailbox, and runs every event through the invoker, whose scheduler
 * keeps at most one proc per instance. It also keeps the instance directory's last-activity times
 * (written in batches, not once per event) and answers `list`/`get`/`evict`/`delete`.
 */
import { ProcyonError } from '../errors.js';
import type { InvocationInput, InvocationResult, Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/index.js';
import type { HttpRequestData, HttpResponseData } from '../sandbox/index.js';
import type { ProcKey, Store, Trigger } from '../store/index.js';
import { checkAddress } from './names.js';
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

  /** Takes a mailbox place for one event (or throws 429); the returned function gives it back. */
  #admit(address: InstanceAddress): () => void {
    checkAddress(address);
    this.#classKey(address);
    const id = idOf(address);
    const n = this.#mailboxes.get(id) ?? 0;
    if (n >= this.#deps.mailbox) {
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
    return this.#deps.invoker.invoke({
      namespace: address.namespace,
      fn: address.className,
      instance: address.name,
      trigger,
      input,
      ...(caller.parentId === undefined ? {} : { parentId: caller.parentId }),
      ...(caller.depth === undefined ? {} : { depth: caller.depth }),
    });
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

  async send(address: InstanceAddress, message: unknown, caller: Caller): Promise<void> {
    // Admitted now, in the caller's order; the event runs on without the sender.
    const release = this.#admit(address);
    const input = { kind: 'message' as const, from: caller.from, message, reply: false };
    this.#invoke(address, input, caller, 'message')
      .catch((err: unknown) => {
        // The activation records the failure; the sender was only promised delivery.
        this.#deps.logger.debug({ err, instance: idOf(address) }, 'a one-way message failed');
      })
      .finally(release);
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

  /** Writes pending last-activity times. */
  async flush(): Promise<void> {
    const pending = [...this.#touched.values()];
    this.#touched.clear();
    for (const { id, at } of pending) await this.#deps.store.procs.touch(id, at);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
