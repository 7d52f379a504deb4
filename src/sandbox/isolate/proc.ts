/**
 * One proc of the isolate driver: a V8 isolate (from the prelude snapshot) with one user module
 * loaded, running one call at a time. Runs inside an isolate host child process, never in the node.
 *
 * Limits: the heap limit is the isolate's `memoryLimit`; the wall-clock limit is enforced twice, by
 * isolated-vm's `timeout` (which interrupts synchronous loops and microtask storms) and by a host
 * timer that disposes the isolate (which also ends a call that is merely awaiting forever). A proc
 * that hit either limit is never reused: its heap may be half-updated.
 */
import ivm from 'isolated-vm';
import type { WireError } from '../../errors.js';
import type { HandlerStyle, InvokeInput, InvokeOutput, LogLine } from '../types.js';
import type { CallSpec, LoadSpec } from './protocol.js';

/** Top-level module code gets this long to evaluate. (ms) */
const MODULE_EVAL_TIMEOUT_MS = 5_000;
/** The prelude caps logs per call; this is the host's own hard cap in case the prelude is bypassed. */
const HARD_LOG_FACTOR = 2;

type DispatchResult =
  | { ok: true; result: { type: 'fetch'; response: never } | { type: 'event'; value: unknown } }
  | { ok: false; error: WireError };

interface LogSink {
  lines: LogLine[];
  bytes: number;
  limit: number;
  truncated: boolean;
}

const LEVELS = new Set<LogLine['level']>(['debug', 'info', 'log', 'warn', 'error']);

export class IsolateProc {
  readonly style: HandlerStyle;
  lastUsed = Date.now();
  /** Calls served; 0 means the next call is this proc's cold start. */
  calls = 0;
  #isolate: ivm.Isolate;
  #dispatch: ivm.Reference;
  #sink: LogSink;
  #disposed = false;

  private constructor(isolate: ivm.Isolate, dispatch: ivm.Reference, style: HandlerStyle, sink: LogSink) {
    this.#isolate = isolate;
    this.#dispatch = dispatch;
    this.style = style;
    this.#sink = sink;
  }

  /** Creates the isolate, loads and evaluates the module, binds its handler. Throws a WireError. */
  static async create(
    snapshot: ivm.ExternalCopy<ArrayBuffer>,
    load: LoadSpec,
    logLimit: number,
  ): Promise<IsolateProc> {
    const isolate = new ivm.Isolate({ memoryLimit: load.memoryMb, snapshot });
    const sink: LogSink = { lines: [], bytes: 0, limit: logLimit * HARD_LOG_FACTOR, truncated: false };
    try {
      const context = await isolate.createContext();
      const rt = (await context.global.get('__procyon', { reference: true })) as ivm.Reference;
      if (rt.typeof !== 'object') throw new Error('runtime prelude missing from snapshot');
      // User code must not reach the runtime's entry points; the host keeps the only reference.
      await context.eval('delete globalThis.__procyon');
      const init = (await rt.get('init', { reference: true })) as ivm.Reference;
      await init.apply(
        undefined,
        [new ivm.Callback((level: string, msg: string) => pushLog(sink, level, msg))],
        {
          timeout: MODULE_EVAL_TIMEOUT_MS,
        },
      );
      const mod = await isolate.compileModule(load.code, { filename: `${load.fn}.js` });
      await mod.instantiate(context, (specifier) => {
        throw new Error(`import of "${specifier}" is not allowed: dependencies are bundled at deploy`);
      });
      await mod.evaluate({ timeout: MODULE_EVAL_TIMEOUT_MS });
      const bind = (await rt.get('bind', { reference: true })) as ivm.Reference;
      const meta = {
        namespace: load.namespace,
        fn: load.fn,
        version: load.version,
        memoryMb: load.memoryMb,
        vars: load.vars,
      };
      const style = (await bind.apply(
        undefined,
        [mod.namespace.derefInto(), new ivm.ExternalCopy(meta).copyInto()],
        {
          timeout: MODULE_EVAL_TIMEOUT_MS,
        },
      )) as HandlerStyle;
      const dispatch = (await rt.get('dispatch', { reference: true })) as ivm.Reference;
      return new IsolateProc(isolate, dispatch, style, sink);
    } catch (err) {
      const error = classify(err, isolate, false, 'PROCYON_BUILD_FAILED');
      if (!isolate.isDisposed) isolate.dispose();
      throw Object.assign(new Error(error.message), { wire: error });
    }
  }

  get disposed(): boolean {
    return this.#disposed || this.#isolate.isDisposed;
  }

  /** Logs written while the module loaded, handed to the first call's activation. */
  takeLogs(): { lines: LogLine[]; truncated: boolean } {
    const out = { lines: this.#sink.lines, truncated: this.#sink.truncated };
    this.#sink.lines = [];
    this.#sink.bytes = 0;
    this.#sink.truncated = false;
    return out;
  }

  async call(input: InvokeInput, call: CallSpec, cold: boolean): Promise<InvokeOutput> {
    this.calls++;
    this.lastUsed = Date.now();
    const early = this.takeLogs();
    this.#sink.lines = early.lines;
    this.#sink.truncated = early.truncated;
    this.#sink.limit = call.logLimitBytes * HARD_LOG_FACTOR;
    const cpu0 = this.#isolate.cpuTime;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.dispose();
    }, call.timeoutMs);
    const callMeta = {
      activationId: call.activationId,
      deadline: Date.now() + call.timeoutMs,
      logLimitBytes: call.logLimitBytes,
      maxResponseBytes: call.maxResponseBytes,
    };
    let out: DispatchResult;
    try {
      out = (await this.#dispatch.apply(
        undefined,
        [
          new ivm.ExternalCopy(input).copyInto({ release: true }),
          new ivm.ExternalCopy(callMeta).copyInto({ release: true }),
        ],
        { result: { promise: true, copy: true }, timeout: call.timeoutMs },
      )) as DispatchResult;
    } catch (err) {
      const error = classify(err, this.#isolate, timedOut, 'PROCYON_INTERNAL', call.timeoutMs);
      this.dispose();
      out = { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
    const cpuMs = this.#isolate.isDisposed ? 0 : Number(this.#isolate.cpuTime - cpu0) / 1e6;
    const logs = this.takeLogs();
    if (!out.ok && out.error.stack) logs.lines.push({ ts: Date.now(), level: 'error', msg: out.error.stack });
    this.lastUsed = Date.now();
    const meta = {
      activationId: call.activationId,
      cold,
      cpuMs,
      logs: logs.lines,
      logsTruncated: logs.truncated,
    };
    return out.ok
      ? { ok: true, result: out.result, ...meta }
      : { ok: false, error: stripStack(out.error), ...meta };
  }

  dispose(): void {
    this.#disposed = true;
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }
}

function pushLog(sink: LogSink, level: string, msg: string): void {
  if (sink.truncated) return;
  const text = String(msg);
  sink.bytes += text.length;
  if (sink.bytes > sink.limit) {
    sink.truncated = true;
    sink.lines.push({
      ts: Date.now(),
      level: 'warn',
      msg: `[procyon] log limit reached; further output dropped`,
    });
    return;
  }
  if (text.startsWith('[procyon] log limit')) sink.truncated = true;
  sink.lines.push({
    ts: Date.now(),
    level: LEVELS.has(level as LogLine['level']) ? (level as LogLine['level']) : 'log',
    msg: text,
  });
}

function stripStack(e: WireError): WireError {
  return { code: e.code, message: e.message };
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
