/**
 * The one call path every trigger ends in (HTTP route, /fn URL, the invoke API, later cron,
 * queues and messages): resolve the version, admit or refuse, run it on the sandbox driver, adapt
 * between HTTP and Lambda events, and record exactly one activation per accepted call.
 */
import { randomUUID } from 'node:crypto';
import { ProcyonError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/index.js';
import type {
  DriverOutput,
  TailResult,
  HttpRequestData,
  HttpResponseData,
  MessageFrom,
  ProcSpec,
  SandboxDriver,
} from '../sandbox/index.js';
import type { ActivationRecord, HandlerStyle, Store, Trigger } from '../store/index.js';
import type { RouteContext } from './lambda.js';
import { checkInput, fromSandboxOutput, toSandboxInput } from './inputs.js';
import type { Admission } from './admission.js';
import type { CpuGovernor } from './cpu-governor.js';
import type { ActivationRecorder } from './recorder.js';

export { ActivationRecorder } from './recorder.js';
export { Admission, type AdmissionLimits } from './admission.js';
export { CpuGovernor } from './cpu-governor.js';

export type InvocationInput =
  | { kind: 'http'; request: HttpRequestData; route: RouteContext }
  | { kind: 'event'; event: unknown; url: string }
  /** To a process instance's `onMessage`; `reply`: the caller waits for its return value. */
  | { kind: 'message'; from: MessageFrom; message: unknown; reply: boolean }
  /** A process instance's alarm. */
  | { kind: 'alarm'; retryCount: number };

export interface InvocationRequest {
  namespace: string;
  fn: string;
  /** A specific version; the function's latest when omitted. */
  version?: string;
  trigger: Trigger;
  input: InvocationInput;
  /** The calling activation, for calls made through a service binding. */
  parentId?: string;
  /** How many service-binding hops led here (0 for outside calls). */
  depth?: number;
  /** The instance, when `fn` is a process class (docs/processes.md). */
  instance?: string;
}

export type InvocationResult =
  /** `body`: the streamed body, when the function returned a stream (`response.body` is then empty). */
  | { activationId: string; kind: 'http'; response: HttpResponseData; body?: AsyncIterable<Uint8Array> }
  | { activationId: string; kind: 'event'; value: unknown };

/**
 * A failed call: the error plus the activation that records it. Keeps the wrapped error's `cause`
 * and `details` so clients still get e.g. `retryAfterSeconds` and logs still show the root cause.
 */
export class InvocationError extends ProcyonError {
  constructor(
    readonly activationId: string,
    error: ProcyonError,
  ) {
    super(error.code, error.message, { cause: error.cause, details: error.details });
  }
}

export interface InvokerDeps {
  registry: Registry;
  store: Store;
  driver: SandboxDriver;
  recorder: ActivationRecorder;
  logger: Logger;
  logLimitBytes: number;
  maxPayloadBytes: number;
  /** Concurrency limits per function and namespace, with a bounded queue (429 beyond it). */
  admission?: Admission;
  /** Learns which functions are CPU-heavy and caps how many of their calls run at once. */
  cpuGovernor?: CpuGovernor;
  /** Sees every activation record (Prometheus counters). */
  metrics?: { observe(record: ActivationRecord): void };
}

type State = 'running' | 'draining' | 'stopped';

export class Invoker {
  #state: State = 'running';
  #inFlight = new Map<string, number>();
  #idleWaiters = new Map<string, (() => void)[]>();
  #total = 0;
  /** Service-binding depth of running activations that have callers. */
  readonly #depths = new Map<string, number>();

  constructor(private readonly deps: InvokerDeps) {}

  /** Service-binding depth of a running activation (0 if it has no caller or has ended). */
  depthOf(activationId: string): number {
    return this.#depths.get(activationId) ?? 0;
  }

  get inFlight(): number {
    return this.#total;
  }

  async invoke(req: InvocationRequest): Promise<InvocationResult> {
    if (this.#state !== 'running') {
      throw new ProcyonError('PROCYON_SHUTTING_DOWN', 'the node is shutting down; retry on another node');
    }
    const { spec, style } = await this.#resolve(req);
    const key = `${req.namespace}/${req.fn}`;
    // Service-binding calls skip admission: their caller was admitted and holds its slot, so
    // queueing them behind it could deadlock; their depth is bounded instead. Process instance
    // events have their own bound, the instance's mailbox (src/procs), and must not time out in
    // a queue once a sender was told its message was accepted.
    const release =
      req.depth || req.instance !== undefined
        ? undefined
        : await this.deps.admission?.acquire(
            req.namespace,
            req.fn,
            Math.min(this.deps.driver.capacity(spec), this.deps.cpuGovernor?.limit(key) ?? Infinity),
          );
    this.#enter(key);
    const activationId = randomUUID();
    if (req.depth) this.#depths.set(activationId, req.depth);
    const startedAt = Date.now();
    const t0 = performance.now();
    let out: DriverOutput | undefined;
    let error: ProcyonError | undefined;
    let result: InvocationResult | undefined;
    try {
      out = await this.deps.driver.invoke(spec, toSandboxInput(req.input, style, activationId), {
        activationId,
        logLimitBytes: this.deps.logLimitBytes,
        maxResponseBytes: this.deps.maxPayloadBytes,
        ...(req.depth ? { nested: true } : {}),
      });
      if (!out.ok) error = ProcyonError.fromWire(out.error);
      else
        result = fromSandboxOutput(req.input, out.result, activationId, this.deps.maxPayloadBytes, out.tail);
    } catch (err) {
      error =
        err instanceof ProcyonError
          ? err
          : new ProcyonError('PROCYON_INTERNAL', 'internal error during the call', { cause: err });
      if (error.code === 'PROCYON_INTERNAL')
        this.deps.logger.error({ err, activationId }, 'invocation failed');
    }
    // The activation closes when the call is over: at once, or when its tail (a streamed body,
    // waitUntil work) ends. The tail's time is billed; its failure marks the activation.
    const close = (tail?: TailResult): void => {
      release?.();
      this.#leave(key);
      this.#depths.delete(activationId);
      const tailError = tail?.error ? ProcyonError.fromWire(tail.error) : undefined;
      const final = error ?? tailError;
      const durationMs = performance.now() - t0;
      const billedMs = Math.max(1, Math.ceil(durationMs));
      const record: ActivationRecord = {
        id: activationId,
        namespace: req.namespace,
        fn: req.fn,
        version: spec.version,
        trigger: req.trigger,
        start: startedAt,
        durationMs: Math.round(durationMs * 1000) / 1000,
        billedMs,
        memoryMb: spec.memoryMb,
        gbSeconds: (spec.memoryMb / 1024) * (billedMs / 1000),
        cpuMs: Math.round(((out?.cpuMs ?? 0) + (tail?.cpuMs ?? 0)) * 1000) / 1000,
        cold: out?.cold ?? false,
        status: final ? 'error' : 'success',
        errorCode: final?.code ?? null,
        logs: tail ? [...(out?.logs ?? []), ...tail.logs] : (out?.logs ?? []),
        logsTruncated: (out?.logsTruncated ?? false) || (tail?.logsTruncated ?? false),
        parentId: req.parentId ?? null,
        instance: req.instance ?? null,
      };
      this.deps.recorder.add(record);
      this.deps.metrics?.observe(record);
      this.deps.cpuGovernor?.observe(key, record.cpuMs, durationMs, record.errorCode === 'PROCYON_TIMEOUT');
    };
    if (out?.tail) void out.tail.done.then(close);
    else close();
    if (error) throw new InvocationError(activationId, error);
    return result as InvocationResult;
  }

  async #resolve(req: InvocationRequest): Promise<{ spec: ProcSpec; style: HandlerStyle }> {
    const found = await this.#version(req);
    checkInput(req, found.style);
    if (req.instance === undefined) return found;
    return { spec: this.deps.registry.instanceSpecOf(found.spec, req.instance), style: found.style };
  }

  async #version(req: InvocationRequest): Promise<{ spec: ProcSpec; style: HandlerStyle }> {
    const deployed = this.deps.registry.get(req.namespace, req.fn);
    if (!deployed) {
      throw new ProcyonError(
        'PROCYON_FN_NOT_FOUND',
        `function "${req.fn}" not found in namespace "${req.namespace}"`,
      );
    }
    if (req.version === undefined || req.version === 'latest' || req.version === deployed.version.id) {
      return { spec: deployed.spec, style: deployed.version.style };
    }
    const version = await this.deps.store.getVersion(req.namespace, req.fn, req.version);
    if (!version) {
      throw new ProcyonError(
        'PROCYON_NOT_FOUND',
        `version "${req.version}" of function "${req.fn}" not found`,
      );
    }
    return { spec: this.deps.registry.specFor(version), style: version.style };
  }

  #enter(key: string): void {
    this.#total++;
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  #leave(key: string): void {
    this.#total--;
    const n = (this.#inFlight.get(key) ?? 1) - 1;
    if (n > 0) {
      this.#inFlight.set(key, n);
      return;
    }
    this.#inFlight.delete(key);
    for (const wake of this.#idleWaiters.get(key) ?? []) wake();
    this.#idleWaiters.delete(key);
    if (this.#total === 0) for (const wake of this.#idleWaiters.get('*') ?? []) wake();
  }

  /** Resolves once no call of the function (or, for `*`, of any function) is running, or after `ms`. */
  async drain(key: string, ms: number): Promise<boolean> {
    const busy = key === '*' ? this.#total > 0 : this.#inFlight.has(key);
    if (!busy) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const list = this.#idleWaiters.get(key) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.#idleWaiters.set(key, list);
    });
  }

  /** Stop admitting calls; then wait up to `graceMs` for the running ones. */
  async stop(graceMs: number): Promise<boolean> {
    if (this.#state === 'running') this.#state = 'draining';
    const drained = await this.drain('*', graceMs);
    this.#state = 'stopped';
    return drained;
  }
}
