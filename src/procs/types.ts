/**
 * The process manager's boundary (docs/processes.md): what the gateway, the API, the CLI's
 * endpoints and the bindings' `procs.*` operations ask of the node about process instances.
 * Instances are addressed by (namespace, class, name); the class is a deployed process class.
 */
import type { InstanceAddress } from '../names.js';
import type { HttpRequestData, HttpResponseData, MessageFrom } from '../sandbox/index.js';

export type { InstanceAddress };

export interface InstanceInfo extends InstanceAddress {
  /** `active`: its proc is live on this node; `swapped`: only its storage exists. */
  state: 'active' | 'swapped';
  /** First event. (epoch ms) */
  createdAt: number;
  /** Last event that reached it. (epoch ms) */
  lastActiveAt: number;
  /** Keys and values it holds in storage, serialised. (bytes) */
  storageBytes: number;
  /** Its isolate's heap at the last report; 0 when swapped out. (bytes) */
  memoryBytes: number;
  /** Its next alarm, if one is set. (epoch ms) */
  alarmAt: number | null;
}

/** Who is calling, for activation records (caller → callee) and `onMessage`'s `from`. */
export interface Caller {
  from: MessageFrom;
  /** The calling activation, when the caller is a function or process running on this node. */
  parentId?: string;
  /** Hops of nested calls that led here (0 for outside callers). */
  depth?: number;
}

export interface ProcessManager {
  /** Instances of a namespace (optionally of one class) that have storage or are live. */
  list(namespace: string, className?: string): Promise<InstanceInfo[]>;
  get(address: InstanceAddress): Promise<InstanceInfo | undefined>;
  /** Swaps the instance out now (its storage stays). false if it was not live. */
  evict(address: InstanceAddress): Promise<boolean>;
  /** Evicts the instance and deletes its storage and alarm. false if it did not exist. */
  delete(address: InstanceAddress): Promise<boolean>;
  /** HTTP to the instance's `fetch(request)`. */
  fetch(
    address: InstanceAddress,
    request: HttpRequestData,
    caller: Caller,
  ): Promise<{ activationId: string; response: HttpResponseData; body?: AsyncIterable<Uint8Array> }>;
  /** `onMessage(from, message)`, waiting for its return value (request/response). */
  call(
    address: InstanceAddress,
    message: unknown,
    caller: Caller,
  ): Promise<{ activationId: string; reply: unknown }>;
  /**
   * `onMessage(from, message)` without waiting: resolves with the message's id once the message is
   * stored and in the instance's mailbox (in order per sender); rejects with PROCYON_MAILBOX_FULL
   * when the mailbox is full, PROCYON_STORAGE_UNAVAILABLE when it cannot be stored.
   */
  send(address: InstanceAddress, message: unknown, caller: Caller): Promise<{ id: string }>;
}
