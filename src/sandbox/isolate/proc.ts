/**
 * One proc of the isolate driver: a V8 isolate (from the prelude snapshot) with one user module
 * loaded, running one call at a time. Runs inside an isolate host child process, never in the node.
 *
 * A call is the dispatch (until the response exists) plus an optional tail: pulling a streamed
 * body and waiting for `ctx.waitUntil` work. The proc belongs to the call until the tail ends.
 *
 * Limits: the heap limit is the isolate's `memoryLimit`; the wall-clock limit covers the whole
 * call and is enforced twice, by isolated-vm's `timeout` on the dispatch (which interrupts
 * synchronous loops and microtask storms) and by a host timer that disposes the isolate (which
 * also ends a call that is merely awaiting forever). A proc that hit a limit is never reused.
 */
import ivm from 'isolated-vm';
import type { WireError } from '../../errors.js';
import type { HandlerStyle, InvokeInput, InvokeOutput, LogLine } from '../types.js';
import type { BridgeContext, EgressLimits } from './bridges/index.js';
import { createStem, HARD_LOG_FACTOR, pushLog, redact, type LogSink, type Stem } from './stem.js';
import type { CallSpec, LoadSpec, TailMeta } from './protocol.js';

/** The abort reason bridges see when their call ends. */
const CALL_ENDED = new Error('the invocation has ended');
/** Top-level module code gets this long to evaluate. (ms) */
const MODULE_EVAL_TIMEOUT_MS = 5_000;

type DispatchResult =
  | {
      ok: true;
      /** The prelude has `ctx.waitUntil` work outstanding. */
      waitUntil?: boolean;
      result:
        | {
            type: 'fetch';
            response: {
              status: number;
              headers: [string, string][];
              body: Uint8Array | null;
              stream?: boolean;
            };
          }
        | { type: 'event'; value: unknown };
    }
  | { ok: false; error: WireError };

type PullResult = { ok: true; value: Uint8Array | null } | { ok: false; error: WireError };

/** Secrets shorter than this are not masked: doing so would garble ordinary output. */
const MIN_REDACT_LENGTH = 4;

/** What the host does with a call that outlives its response. */
export interface CallTail {
  /** Next chunk of the streamed body; null at its end. Only for streamed responses. */
  pull(maxBytes: number): Promise<Uint8Array | null>;
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
  rpc(ctx: { key: string; activationId: string }, op: string, args: unknown[]): Promise<unknown>;
}

/** The runtime's entry points, as the host holds them (pull/settle are optional prelude features). */
interface RuntimeEntries {
  dispatch: ivm.Reference;
  pull: ivm.Reference | null;
  settle: ivm.Reference | null;
}

const EMPTY = new Uint8Array(0);

export class IsolateProc {
  readonly style: HandlerStyle;
  lastUsed = Date.now();
  #isolate: ivm.Isolate;
  #rt: RuntimeEntries;
  #sink: LogSink;
  #disposed = false;
  /** The call in progress, which bridge operations act for; null between calls. */
  readonly #current: { ctx: BridgeContext | null };
  /** The function's `egress.allow` patterns. */
  #egressAllow: readonly string[] = [];

  private constructor(
    isolate: ivm.Isolate,
    rt: RuntimeEntries,
    style: HandlerStyle,
    sink: LogSink,
    current: { ctx: BridgeContext | null },
  ) {
    this.#isolate = isolate;
    this.#rt = rt;
    this.style = style;
    this.#sink = sink;
    this.#current = current;
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
      const { context, sink, current } = s;
      const { bind, dispatch, pull, settle } = s.entries;
      sink.limit = logLimit * HARD_LOG_FACTOR;
      sink.redact = Object.values(load.secrets)
        .filter((v) => v.length >= MIN_REDACT_LENGTH)
        .sort((a, b) => b.length - a.length);
      const mod = await iso.compileModule(load.code, { filename: `${load.fn}.js` });
      // Synchronous: linking a bundle that may import nothing is cheap, and saves a thread hop.
      mod.instantiateSync(context, (specifier) => {
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
      };
      const style = (await bind.apply(
        undefined,
        [mod.namespace.derefInto(), new ivm.ExternalCopy(meta).copyInto()],
        {
          timeout: MODULE_EVAL_TIMEOUT_MS,
        },
      )) as HandlerStyle;
      const entry = { dispatch, pull, settle };
      const proc = new IsolateProc(iso, entry, style, sink, current);
      proc.#egressAllow = load.egress.allow;
      return proc;
    } catch (err) {
      const error = isolate
        ? classify(err, isolate, false, 'PROCYON_BUILD_FAILED')
        : { code: 'PROCYON_INTERNAL' as const, message: `could not create an isolate: ${String(err)}` };
      if (isolate && !isolate.isDisposed) isolate.dispose();
      throw Object.assign(new Error(error.message), { wire: error });
    }
  }

  get disposed(): boolean {
    return this.#disposed || this.#isolate.isDisposed;
  }

  #takeLogs(): { lines: LogLine[]; truncated: boolean } {
    const out = { lines: this.#sink.lines, truncated: this.#sink.truncated };
    this.#sink.lines = [];
    this.#sink.bytes = 0;
    this.#sink.truncated = false;
    return out;
  }

  #cpu(): bigint {
    return this.#isolate.isDisposed ? 0n : this.#isolate.cpuTime;
  }

  async call(
    input: InvokeInput,
    call: CallSpec,
    cold: boolean,
    hooks: ProcHooks,
    key: string,
  ): Promise<CallResult> {
    this.lastUsed = Date.now();
    // Logs written while the module loaded belong to the first call's activation.
    this.#sink.limit = call.logLimitBytes * HARD_LOG_FACTOR;
    const cpu0 = this.#cpu();
    const deadline = Date.now() + call.timeoutMs;
    // Made on first use: most calls never ask for it, and an AbortController (with the
    // DOMException its abort() builds) was ~10% of a host's CPU per call.
    let abort: AbortController | undefined;
    let ended = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.dispose();
    }, call.timeoutMs);
    const ctx: BridgeContext = {
      activationId: call.activationId,
      key,
      namespace: key.slice(0, key.indexOf('/')),
      fn: key.slice(key.indexOf('/') + 1, key.lastIndexOf('@')),
      version: key.slice(key.lastIndexOf('@') + 1),
      deadline,
      get signal(): AbortSignal {
        if (!abort) {
          abort = new AbortController();
          if (ended) abort.abort(CALL_ENDED);
        }
        return abort.signal;
      },
      egress: { ...hooks.egress, allow: this.#egressAllow },
      rpc: (op, args) => hooks.rpc({ key, activationId: call.activationId }, op, args),
      log: (level, msg) => pushLog(this.#sink, level, msg),
    };
    this.#current.ctx = ctx;
    const end = (): void => {
      clearTimeout(timer);
      ended = true;
      abort?.abort(CALL_ENDED);
      if (this.#current.ctx === ctx) this.#current.ctx = null;
      this.lastUsed = Date.now();
    };
    const fail = (err: unknown): WireError => {
      const error = classify(err, this.#isolate, timedOut, 'PROCYON_INTERNAL', call.timeoutMs);
      this.dispose();
      return error;
    };

    const callMeta = {
      activationId: call.activationId,
      deadline,
      logLimitBytes: call.logLimitBytes,
      maxResponseBytes: call.maxResponseBytes,
    };
    let res: DispatchResult;
    try {
      res = (await this.#rt.dispatch.apply(
        undefined,
        [
          new ivm.ExternalCopy(input).copyInto({ release: true }),
          new ivm.ExternalCopy(callMeta).copyInto({ release: true }),
        ],
        { result: { promise: true, copy: true }, timeout: call.timeoutMs },
      )) as DispatchResult;
    } catch (err) {
      res = { ok: false, error: fail(err) };
    }
    const cpuMs = Number(this.#cpu() - cpu0) / 1e6;
    const logs = this.#takeLogs();
    if (!res.ok && res.error.stack) {
      logs.lines.push({ ts: Date.now(), level: 'error', msg: redact(this.#sink, res.error.stack) });
    }
    const meta = {
      activationId: call.activationId,
      cold,
      cpuMs,
      logs: logs.lines,
      logsTruncated: logs.truncated,
    };
    if (!res.ok) {
      end();
      return {
        out: {
          ok: false,
          error: { code: res.error.code, message: redact(this.#sink, res.error.message) },
          ...meta,
        },
        tail: null,
      };
    }
    const streamed =
      res.result.type === 'fetch' && res.result.response.stream === true && this.#rt.pull !== null;
    const result =
      res.result.type === 'fetch'
        ? {
            type: 'fetch' as const,
            response: { ...res.result.response, body: res.result.response.body ?? EMPTY, stream: streamed },
          }
        : res.result;
    const out: InvokeOutput = { ok: true, result, ...meta };
    if (!streamed && !(res.waitUntil && this.#rt.settle)) {
      end();
      return { out, tail: null };
    }
    return {
      out,
      tail: this.#tail(streamed, cpu0 + BigInt(Math.round(cpuMs * 1e6)), () => timedOut, fail, end, call),
    };
  }

  #tail(
    streamed: boolean,
    cpuMark: bigint,
    timedOut: () => boolean,
    fail: (err: unknown) => WireError,
    end: () => void,
    call: CallSpec,
  ): CallTail {
    let error: WireError | undefined;
    let open = streamed;
    const copy = { result: { promise: true, copy: true } } as const;
    return {
      pull: async (maxBytes) => {
        if (!open || !this.#rt.pull) return null;
        try {
          const r = (await this.#rt.pull.apply(undefined, [maxBytes], copy)) as PullResult;
          if (r.ok && r.value !== null) return r.value;
          if (!r.ok) error = { code: r.error.code, message: redact(this.#sink, r.error.message) };
        } catch (err) {
          error = fail(err);
        }
        open = false;
        return null;
      },
      cancel: () => {
        // Ending the pull loop is enough: the next dispatch cancels the isolate's stream.
        open = false;
      },
      finish: async () => {
        open = false;
        if (!error && !timedOut() && this.#rt.settle && !this.disposed) {
          try {
            await this.#rt.settle.apply(undefined, [Math.max(0, call.timeoutMs)], copy);
          } catch (err) {
            error = fail(err);
          }
        }
        if (timedOut() && !error)
          error = {
            code: 'PROCYON_TIMEOUT',
            message: `the function did not finish within ${call.timeoutMs} ms`,
          };
        const logs = this.#takeLogs();
        const cpuMs = Number(this.#cpu() - cpuMark) / 1e6;
        end();
        return {
          cpuMs: Math.max(0, cpuMs),
          logs: logs.lines,
          logsTruncated: logs.truncated,
          ...(error ? { error } : {}),
        };
      },
    };
  }

  dispose(): void {
    this.#disposed = true;
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }
}

/** Turns whatever isolated-vm threw into a typed error. */
function classify(
  err: unknown,
  isolate: ivm.Isolate,
  timedOut: boolean,
  fallback: WireError['code'],
  timeoutMs?: number,
): WireError {
  const message =
    err instanceof Error
      ? err.name && err.name !== 'Error'
        ? `${err.name}: ${err.message}`
        : err.message
      : String(err);
  const stack = err instanceof Error ? err.stack : undefined;
  if (/memory limit/i.test(message)) {
    return { code: 'PROCYON_MEMORY_LIMIT', message: 'the function exceeded its memory limit' };
  }
  if (timedOut || /timed out/i.test(message)) {
    return {
      code: 'PROCYON_TIMEOUT',
      message:
        timeoutMs === undefined
          ? 'module evaluation timed out'
          : `the function did not finish within ${timeoutMs} ms`,
    };
  }
  if (isolate.isDisposed) return { code: 'PROCYON_INTERNAL', message: `isolate disposed: ${message}` };
  return stack === undefined ? { code: fallback, message } : { code: fallback, message, stack };
}
