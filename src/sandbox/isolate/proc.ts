/**
 * One proc of the isolate driver: a V8 isolate (from the prelude snapshot) with one user module
 * loaded, running the calls the node's scheduler sends it, several at once if the function's
 * `concurrency` allows (the scheduler never sends more). Runs inside an isolate host child process,
 * never in the node.
 *
 * A call is the dispatch (until the response exists) plus an optional tail: pulling a streamed
 * body and waiting for `ctx.waitUntil` work. It is in flight until its tail ends; `inFlight`
 * counts such calls. Each call has a number of its own (`callId`) by which the prelude keeps its
 * body, waitUntil set and log budget apart from the others' (src/runtime/contract.ts).
 *
 * Attribution while calls overlap (an isolate has no AsyncContext; src/runtime/calls.ts):
 * - Console output made while a call's handler runs its synchronous part goes to that call; any
 *   other output goes to the oldest call still in flight, so with one call at a time nothing
 *   changes. Each call has its own log buffer and hard cap (`logLimitBytes` is per call); output
 *   made while no call is in flight (module top level) goes to the next call.
 * - Bridge operations (fetch, timers, crypto, KV, service bindings) run for the call the prelude
 *   names: the one whose handler is in its synchronous part, the one a per-call `env` binding
 *   belongs to (so KV and service calls are always exact), or the only call in flight. When it
 *   cannot know (a global `fetch` or `setTimeout` after an `await` while calls overlap) the
 *   operation runs in the proc's BusyScope: it lasts until no call is in flight, so one call
 *   ending never aborts a sub-request another call is waiting for, and its logs and rpcs are
 *   charged to the oldest call.
 * - CPU time: the isolate's CPU time is measured at each call's start, dispatch end and tail end,
 *   and what was spent since the last measurement is divided evenly between the calls in flight.
 *   So the calls' cpuMs add up to the isolate's CPU time while it had calls, and with one call at
 *   a time each call gets exactly the CPU time of its own span.
 *
 * Limits: the heap limit is the isolate's `memoryLimit`; ArrayBuffers and WebAssembly memories count
 * against it too, read after each call and every 100 ms while calls run (memory-watch.ts); the
 * wall-clock limit of each call covers
 * the whole call and is enforced twice, by isolated-vm's `timeout` on the dispatch (which
 * interrupts synchronous loops and microtask storms) and by a host timer that disposes the isolate
 * (which also ends a call that is merely awaiting forever). A proc that hit a limit is never
 * reused: the call that hit it fails with PROCYON_TIMEOUT or PROCYON_MEMORY_LIMIT, and every other
 * call in flight on the proc fails at once with PROCYON_PROC_LOST (retryable). A synchronous loop
 * is charged to the call whose dispatch was running when the interrupt came; a heap overflow to
 * the first call that reports it.
 */
import ivm from 'isolated-vm';
import type { WireError } from '../../errors.js';
import type { HandlerStyle, InvokeInput, InvokeOutput } from '../types.js';
import type { BridgeContext } from './bridges/index.js';
import type { EgressLimits } from '../egress/index.js';
import type { NodeOpName } from '../ops/index.js';
import { BusyScope, oldestOf, ProcCall, procVersion, type ProcVersion } from './proc-call.js';
import {
  errorMessage,
  internalError,
  limitIn,
  loadError,
  lossError,
  type LimitCode,
  type Loss,
} from './proc-errors.js';
import { HARD_LOG_FACTOR, LogBuffer, LogPolicy } from '../logs.js';
import { MemoryWatch, type MemoryKillReason } from './memory-watch.js';
import { createStem, type Stem } from './stem.js';
import type { CallSpec, LoadSpec, TailMeta } from './protocol.js';
import type { DispatchResult, PullResult } from '../../runtime/contract.js';

/** Top-level module code gets this long to evaluate. (ms) */
const MODULE_EVAL_TIMEOUT_MS = 5_000;

/** What the host does with a call that outlives its response. */
export interface CallTail {
  /** Next chunk of the streamed body; null at its end. Only for streamed responses. */
  pull(maxBytes: number): Promise<Uint8Array | null>;
  /** Why the stream ended early (it threw, or the call hit a limit); undefined if it did not. */
  failure(): WireError | undefined;
  /** Stops a stream early (the client went away). */
  cancel(): void;
  /** Waits for the stream's end and the waitUntil work, then closes the call. */
  finish(): Promise<TailMeta>;
}

export interface CallResult {
  out: InvokeOutput;
  tail: CallTail | null;
}

export interface ProcHooks {
  /** The node's part of every call's `fetch` policy; the function's allow list is added per proc. */
  egress: Omit<EgressLimits, 'allow'>;
  /** Forwards a bridge `rpc` to the node. */
  rpc(ctx: { key: string; activationId: string }, op: NodeOpName, args: unknown[]): Promise<unknown>;
  /** A proc went past its memory limit and was disposed (for the host's metrics). */
  memoryKill?(reason: MemoryKillReason): void;
}

type RuntimeEntries = Omit<Stem['entries'], 'bind'>;

const EMPTY = new Uint8Array(0);
const COPY = { result: { promise: true, copy: true } } as const;

export class IsolateProc {
  readonly style: HandlerStyle;
  lastUsed = Date.now();
  readonly #isolate: ivm.Isolate;
  readonly #rt: RuntimeEntries;
  readonly #logPolicy: LogPolicy;
  /** Output made while no call was in flight; the next call's activation gets it. */
  readonly #between: LogBuffer;
  /** The function's `egress.allow` patterns. */
  readonly #egressAllow: readonly string[];
  /** Calls in flight, oldest first. */
  readonly #calls = new Map<number, ProcCall>();
  #nextCallId = 1;
  #shared: ProcVersion | null = null;
  #hooks: ProcHooks | null = null;
  /** The context of operations no single call could be named for; while any call is in flight. */
  #busy: BusyScope | null = null;
  /** The isolate's CPU time when it was last divided between calls. (ns) */
  #cpuSeen: bigint;
  #lost: Loss<ProcCall> | null = null;
  #disposed = false;
  readonly #watch: MemoryWatch;

  private constructor(
    stem: Stem,
    style: HandlerStyle,
    logPolicy: LogPolicy,
    between: LogBuffer,
    load: LoadSpec,
  ) {
    this.#isolate = stem.isolate;
    this.#rt = stem.entries;
    this.style = style;
    this.#logPolicy = logPolicy;
    this.#between = between;
    this.#egressAllow = load.egress.allow;
    this.#cpuSeen = stem.isolate.cpuTime;
    this.#watch = new MemoryWatch(stem.isolate, stem.entries.memory, load.memoryMb * 2 ** 20, (reason) => {
      const oldest = oldestOf(this.#calls);
      if (oldest) this.#overMemory(oldest, reason);
    });
    stem.link.log = (level, msg, callId) => this.#logPolicy.push(this.#bufferFor(callId), level, msg);
    stem.link.context = (token) => this.#contextFor(token);
  }

  /**
   * Loads and evaluates the module in a stem (a ready isolate; a new one when none is given) and
   * binds its handler. Throws `{ wire }`.
   */
  static async create(
    snapshot: ivm.ExternalCopy<ArrayBuffer>,
    load: LoadSpec,
    logLimit: number,
    stem?: Stem,
  ): Promise<IsolateProc> {
    let isolate: ivm.Isolate | undefined = stem?.isolate;
    try {
      const s = stem ?? (await createStem(snapshot, load.memoryMb, logLimit));
      const iso = s.isolate;
      isolate = iso;
      const logPolicy = new LogPolicy(load.secrets);
      // Output of the module's top level, which the first call's activation gets.
      const between = new LogBuffer(logLimit * HARD_LOG_FACTOR);
      s.link.log = (level, msg) => logPolicy.push(between, level, msg);
      const mod = await iso.compileModule(load.code, { filename: `${load.fn}.js` });
      // Synchronous: linking a bundle that may import nothing is cheap, and saves a thread hop.
      mod.instantiateSync(s.context, (specifier) => {
        // Plain: isolated-vm passes on only the message; loadError codes it PROCYON_BUILD_FAILED.
        throw new Error(`import of "${specifier}" is not allowed: dependencies are bundled at deploy`);
      });
      await mod.evaluate({ timeout: MODULE_EVAL_TIMEOUT_MS });
      const meta = {
        namespace: load.namespace,
        fn: load.fn,
        version: load.version,
        memoryMb: load.memoryMb,
        vars: load.vars,
        secrets: load.secrets,
        bindings: load.bindings,
        ...(load.process ? { process: load.process } : {}),
      };
      const style = (await s.entries.bind.apply(
        undefined,
        [mod.namespace.derefInto(), new ivm.ExternalCopy(meta).copyInto()],
        { timeout: MODULE_EVAL_TIMEOUT_MS },
      )) as HandlerStyle;
      return new IsolateProc(s, style, logPolicy, between, load);
    } catch (err) {
      const error = isolate
        ? loadError(err, isolate)
        : { code: 'PROCYON_INTERNAL' as const, message: `could not create an isolate: ${String(err)}` };
      if (isolate && !isolate.isDisposed) isolate.dispose();
      throw Object.assign(new Error(error.message), { wire: error });
    }
  }

  /**
   * Memory the isolate holds now: V8's committed heap, plus `externalBytes` (ArrayBuffers and
   * WebAssembly memories). (bytes)
   */
  memory(): { totalBytes: number; externalBytes: number } {
    if (this.disposed) return { totalBytes: 0, externalBytes: 0 };
    return this.#watch.now(this.#calls.size === 0);
  }

  get disposed(): boolean {
    return this.#disposed || this.#isolate.isDisposed;
  }

  /** Calls whose dispatch or tail has not finished. */
  get inFlight(): number {
    return this.#calls.size;
  }

  async call(
    input: InvokeInput,
    spec: CallSpec,
    cold: boolean,
    hooks: ProcHooks,
    key: string,
  ): Promise<CallResult> {
    this.lastUsed = Date.now();
    this.#chargeCpu();
    const logs = new LogBuffer(spec.logLimitBytes * HARD_LOG_FACTOR);
    if (this.#calls.size === 0) this.#between.moveTo(logs);
    const call = new ProcCall(this.#nextCallId++, spec, this.#sharedFor(key, hooks), logs);
    this.#calls.set(call.id, call);
    call.arm(() => this.#hitLimit(call, 'PROCYON_TIMEOUT'));
    this.#watch.start();
    const callMeta = {
      callId: call.id,
      activationId: spec.activationId,
      deadline: call.deadline,
      logLimitBytes: spec.logLimitBytes,
      maxResponseBytes: spec.maxResponseBytes,
    };
    let res: DispatchResult;
    // The dispatch's own memory report, or undefined when it did not return one (it threw).
    let reported: DispatchResult['memory'] | null | undefined;
    try {
      res = (await this.#rt.dispatch.apply(
        undefined,
        [
          new ivm.ExternalCopy(input).copyInto({ release: true }),
          new ivm.ExternalCopy(callMeta).copyInto({ release: true }),
        ],
        { ...COPY, timeout: spec.timeoutMs },
      )) as DispatchResult;
      reported = res.memory ?? null;
    } catch (err) {
      res = { ok: false, error: this.#fail(call, err) };
    }
    // Past the limit once the dispatch is over (an uncaught allocation failure, or wasm memory
    // beyond the limit): the call fails and the isolate goes with its memory.
    const over = this.disposed ? null : await this.#watch.after(res.ok ? null : res.error.message, reported);
    if (over) {
      this.#overMemory(call, over);
      res = { ok: false, error: this.#lossOf(call) };
    } else if (res.ok && this.#lost?.by === call) {
      // A reading while the call ran found it past its limit and took the isolate: its result
      // must not leave as a success.
      res = { ok: false, error: this.#lossOf(call) };
    }
    this.#chargeCpu();
    const taken = call.logs.take();
    if (!res.ok && res.error.stack) {
      taken.lines.push({ ts: Date.now(), level: 'error', msg: this.#logPolicy.redact(res.error.stack) });
    }
    const meta = {
      activationId: spec.activationId,
      cold,
      cpuMs: call.takeCpuMs(),
      logs: taken.lines,
      logsTruncated: taken.truncated,
    };
    if (!res.ok) {
      // The prelude has forgotten a failed call already (or its isolate is gone).
      this.#end(call, false);
      const error = { code: res.error.code, message: this.#logPolicy.redact(res.error.message) };
      return { out: { ok: false, error, ...meta }, tail: null };
    }
    const streamed = res.result.type === 'fetch' && res.result.response.stream === true;
    const result =
      res.result.type === 'fetch'
        ? {
            type: 'fetch' as const,
            response: { ...res.result.response, body: res.result.response.body ?? EMPTY, stream: streamed },
          }
        : res.result;
    const out: InvokeOutput = { ok: true, result, ...meta };
    if (!streamed && !res.waitUntil) {
      this.#end(call, false);
      return { out, tail: null };
    }
    return { out, tail: this.#tail(call, streamed) };
  }

  #tail(call: ProcCall, streamed: boolean): CallTail {
    let error: WireError | undefined;
    let open = streamed;
    return {
      pull: async (maxBytes) => {
        if (!open) return null;
        try {
          const r = (await this.#rt.pull.apply(undefined, [call.id, maxBytes], COPY)) as PullResult;
          if (r.ok && r.value !== null) return r.value;
          if (!r.ok) error = { code: r.error.code, message: this.#logPolicy.redact(r.error.message) };
        } catch (err) {
          error = this.#fail(call, err);
        }
        open = false;
        return null;
      },
      failure: () => error,
      cancel: () => {
        // The prelude cancels the stream when it is settled.
        open = false;
      },
      finish: async () => {
        open = false;
        if (!error && !this.disposed) {
          try {
            await this.#rt.settle.apply(undefined, [call.id, call.spec.timeoutMs], COPY);
          } catch (err) {
            error = this.#fail(call, err);
          }
          // waitUntil work may have grown memory past the limit.
          const over = error || this.disposed ? null : await this.#watch.after(null);
          if (over) {
            this.#overMemory(call, over);
            error = this.#lossOf(call);
          }
        }
        // The isolate went while the call waited between pulls, or right after it settled.
        if (!error && this.disposed) error = this.#lossOf(call);
        this.#chargeCpu();
        const taken = call.logs.take();
        const cpuMs = call.takeCpuMs();
        this.#end(call, true);
        return {
          cpuMs,
          logs: taken.lines,
          logsTruncated: taken.truncated,
          ...(error ? { error } : {}),
        };
      },
    };
  }

  /** The call is over: it leaves the proc, and the prelude forgets it if it still holds it. */
  #end(call: ProcCall, inPrelude: boolean): void {
    call.stop();
    this.#calls.delete(call.id);
    if (this.#calls.size === 0) {
      this.#busy?.stop();
      this.#busy = null;
      this.#watch.stop();
    }
    if (inPrelude && !this.disposed) {
      try {
        // Fire and forget: the node need not wait for the isolate to drop the call's state.
        this.#rt.end.applyIgnored(undefined, [call.id]);
      } catch {
        // The isolate went at this very moment (a heap overflow disposes it from its own thread).
      }
    }
    this.lastUsed = Date.now();
  }

  /** Facts every call's bridge context shares, made on the first call. */
  #sharedFor(key: string, hooks: ProcHooks): ProcVersion {
    if (this.#shared?.key !== key || this.#hooks !== hooks) {
      this.#hooks = hooks;
      this.#shared = procVersion(key, { ...hooks.egress, allow: this.#egressAllow }, hooks, this.#logPolicy);
    }
    return this.#shared;
  }

  /** Where a console line the prelude charged to `callId` goes (see the header). */
  #bufferFor(callId: number): LogBuffer {
    const call = this.#calls.get(callId) ?? oldestOf(this.#calls);
    return call ? call.logs : this.#between;
  }

  /** The context a bridge operation with the prelude's `token` runs in; null refuses it. */
  #contextFor(token: unknown): BridgeContext | null {
    if (typeof token === 'number' && token > 0) return this.#calls.get(token) ?? null;
    if (this.#calls.size === 0 || !this.#shared) return null;
    this.#busy ??= new BusyScope(this.#shared, this.#calls);
    return this.#busy;
  }

  /** Divides the isolate CPU time spent since the last call of this between the calls in flight. */
  #chargeCpu(): void {
    let now: bigint;
    try {
      now = this.#isolate.cpuTime;
    } catch {
      return; // disposed: what it spent last is lost with it
    }
    const spent = Number(now - this.#cpuSeen);
    this.#cpuSeen = now;
    if (spent <= 0 || this.#calls.size === 0) return;
    const share = spent / this.#calls.size;
    for (const call of this.#calls.values()) call.cpuNs += share;
  }

  #hitLimit(call: ProcCall, code: LimitCode): void {
    this.#lost ??= { by: call, code };
    this.dispose();
  }

  #overMemory(call: ProcCall, reason: MemoryKillReason): void {
    if (this.#lost) return;
    this.#hooks?.memoryKill?.(reason);
    this.#hitLimit(call, 'PROCYON_MEMORY_LIMIT');
  }

  /** What `call` failed with when the isolate threw or went away; the proc is discarded. */
  #fail(call: ProcCall, err: unknown): WireError {
    if (!this.#lost && !call.timedOut) {
      const limit = limitIn(errorMessage(err));
      if (limit === 'PROCYON_MEMORY_LIMIT') this.#hooks?.memoryKill?.('heap');
      if (limit) this.#lost = { by: call, code: limit };
      else if (!this.disposed) {
        this.dispose();
        return internalError(err);
      }
    }
    this.dispose();
    return this.#lossOf(call);
  }

  /** The error of a call whose isolate was disposed under it. */
  #lossOf(call: ProcCall): WireError {
    const lost = this.#lost;
    const own = call.timedOut ? 'PROCYON_TIMEOUT' : lost?.by === call ? lost.code : null;
    return lossError(own, call.spec.timeoutMs, lost?.code ?? null);
  }

  dispose(): void {
    this.#disposed = true;
    this.#watch.stop();
    // Every call in flight ends now: their timers stop and their bridge operations abort.
    for (const call of this.#calls.values()) call.stop();
    this.#busy?.stop();
    this.#busy = null;
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }
}
