/**
 * What a proc keeps per call in flight, and the contexts bridge operations run in (bridges/types.ts):
 * a `ProcCall` for operations that belong to one call, a `BusyScope` for those the prelude could
 * only attribute to "whichever calls are in flight" (src/runtime/calls.ts). Abort signals are made
 * on first use: most calls never ask for one, and an AbortController (with the DOMException its
 * abort() builds) made for every call was ~10% of an isolate host's CPU.
 */
import type { LogLine } from '../types.js';
import type { BridgeContext } from './bridges/index.js';
import type { EgressLimits } from '../egress/index.js';
import type { LogBuffer, LogPolicy } from '../logs.js';
import type { CallSpec } from './protocol.js';
import type { NodeOpName, OpArgs, OpResult } from '../ops/index.js';

/** The abort reason bridges see when their call ends. */
const CALL_ENDED = new Error('the invocation has ended');

/** What every call on one proc shares: its version, `fetch` policy, the node's `rpc`, log policy. */
export interface ProcVersion {
  key: string;
  namespace: string;
  fn: string;
  version: string;
  egress: EgressLimits;
  rpc(call: { key: string; activationId: string }, op: NodeOpName, args: unknown[]): Promise<unknown>;
  logs: LogPolicy;
}

/** The facts of version `key` (`ns/fn@version`) for the contexts of its calls. */
export function procVersion(
  key: string,
  egress: EgressLimits,
  node: Pick<ProcVersion, 'rpc'>,
  logs: LogPolicy,
): ProcVersion {
  const slash = key.indexOf('/');
  const at = key.lastIndexOf('@');
  // A process instance's key ends in `#name` after its class version.
  const hash = key.indexOf('#', at);
  return {
    key,
    namespace: key.slice(0, slash),
    fn: key.slice(slash + 1, at),
    version: key.slice(at + 1, hash === -1 ? undefined : hash),
    egress,
    rpc: (call, op, args) => node.rpc(call, op, args),
    logs,
  };
}

/** An abort signal that exists only once asked for, aborted when its owner ends. */
class LazySignal {
  #controller: AbortController | undefined;
  #ended = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#ended) this.#controller.abort(CALL_ENDED);
    }
    return this.#controller.signal;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller?.abort(CALL_ENDED);
  }
}

/** What both kinds of context share: the version's facts and a signal aborted when they end. */
abstract class VersionContext {
  protected readonly shared: ProcVersion;
  protected readonly ending = new LazySignal();

  constructor(shared: ProcVersion) {
    this.shared = shared;
  }

  get key(): string {
    return this.shared.key;
  }
  get namespace(): string {
    return this.shared.namespace;
  }
  get fn(): string {
    return this.shared.fn;
  }
  get version(): string {
    return this.shared.version;
  }
  get egress(): EgressLimits {
    return this.shared.egress;
  }
  get signal(): AbortSignal {
    return this.ending.signal;
  }
}

export class ProcCall extends VersionContext implements BridgeContext {
  readonly activationId: string;
  /** When the call's time is up. (epoch ms) */
  readonly deadline: number;
  /** Its log lines not yet handed to the node. */
  readonly logs: LogBuffer;
  /** CPU time charged to the call and not yet reported. (ns) */
  cpuNs = 0;
  /** Its wall-clock limit passed. */
  timedOut = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    /** The proc's number for the call, which the prelude knows it by. */
    readonly id: number,
    readonly spec: CallSpec,
    shared: ProcVersion,
    logs: LogBuffer,
  ) {
    super(shared);
    this.activationId = spec.activationId;
    this.deadline = Date.now() + spec.timeoutMs;
    this.logs = logs;
  }

  rpc<K extends NodeOpName>(op: K, args: OpArgs<K>): Promise<OpResult<K>> {
    // The node's answer crosses the host channel as data; the map says what the node answers.
    return this.shared.rpc({ key: this.shared.key, activationId: this.activationId }, op, args);
  }

  log(level: LogLine['level'], msg: string): void {
    this.shared.logs.push(this.logs, level, msg);
  }

  /** Calls `onTimeout` when the call's wall-clock limit passes, unless it ends first. */
  arm(onTimeout: () => void): void {
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      onTimeout();
    }, this.spec.timeoutMs);
  }

  /** CPU time charged since the last report. (ms) */
  takeCpuMs(): number {
    const ms = this.cpuNs / 1e6;
    this.cpuNs = 0;
    return ms;
  }

  /** The call is over (or its isolate is gone): its timer stops and its bridge operations abort. */
  stop(): void {
    clearTimeout(this.#timer);
    this.ending.end();
  }
}

/**
 * The context of bridge operations that belong to one of the calls in flight, unknown which
 * (code that ran after an `await` while calls overlapped). They last while any call is in flight,
 * never past the latest deadline among them, and share one set of per-call limits (sub-requests,
 * timers); logs and `rpc`s are charged to the oldest call, as console output is.
 */
export class BusyScope extends VersionContext implements BridgeContext {
  readonly #calls: ReadonlyMap<number, ProcCall>;

  constructor(shared: ProcVersion, calls: ReadonlyMap<number, ProcCall>) {
    super(shared);
    this.#calls = calls;
  }

  #oldest(): ProcCall | undefined {
    return oldestOf(this.#calls);
  }

  get activationId(): string {
    return this.#oldest()?.activationId ?? '';
  }

  get deadline(): number {
    let latest = 0;
    for (const call of this.#calls.values()) latest = Math.max(latest, call.deadline);
    return latest;
  }

  rpc<K extends NodeOpName>(op: K, args: OpArgs<K>): Promise<OpResult<K>> {
    const oldest = this.#oldest();
    return oldest ? oldest.rpc(op, args) : Promise.reject(CALL_ENDED);
  }

  log(level: LogLine['level'], msg: string): void {
    this.#oldest()?.log(level, msg);
  }

  /** No call is in flight any more. */
  stop(): void {
    this.ending.end();
  }
}

/** The call in flight longest (maps keep insertion order). */
export function oldestOf(calls: ReadonlyMap<number, ProcCall>): ProcCall | undefined {
  for (const call of calls.values()) return call;
  return undefined;
}
