/**
 * Test harness for the runtime prelude: loads dist/runtime/prelude.js into real isolated-vm
 * isolates exactly as the isolate host does (snapshot, isolate from snapshot, context, take and
 * delete `__procyon`, init with a log Callback, compile/instantiate/evaluate the user module, bind,
 * dispatch with copied arguments and a copied promise result). Run after `npm run build`.
 */
import ivm from 'isolated-vm';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type {
  BindMeta,
  CallOptions,
  DispatchInput,
  DispatchResult,
  InitOptions,
  PullResult,
  SettleResult,
} from '../../src/runtime/contract.js';
import { exitWithoutTeardown } from '../../src/sandbox/isolate/exit.js';

export type { DispatchResult, PullResult };

/** dist/test/runtime/harness.js -> dist/runtime/prelude.js */
export const PRELUDE_PATH = fileURLToPath(new URL('../../runtime/prelude.js', import.meta.url));

exitWithoutTeardown();

let snapshot: ivm.ExternalCopy<ArrayBuffer> | undefined;

export function preludeSource(): string {
  return readFileSync(PRELUDE_PATH, 'utf8');
}

/** The prelude snapshot, made once per test process. */
export function preludeSnapshot(): ivm.ExternalCopy<ArrayBuffer> {
  snapshot ??= ivm.Isolate.createSnapshot([{ code: preludeSource(), filename: 'procyon:prelude.js' }]);
  return snapshot;
}

export interface LogEntry {
  level: string;
  msg: string;
  /** The call the prelude charged the line to (0: none in flight). */
  call: number;
}

export interface ProcOptions {
  /** @default 64 (MB) */
  memoryMb?: number;
  vars?: Record<string, string>;
  bindings?: BindMeta['bindings'];
  /** Bind a process class (and instance) instead of a function. */
  process?: BindMeta['process'];
  init?: InitOptions;
  /**
   * The host's side of the bridge (bridge.ts): answers `op` with `{ ok: true, value }` (also when it
   * returns a promise) or, when it throws, with the error as data, and sees the call token the
   * prelude sent. Without it, host operations fail as "not attached".
   */
  host?: (op: string, args: unknown[], token: number) => unknown;
}

export const DEFAULT_CALL: Omit<CallOptions, 'deadline' | 'callId'> = {
  activationId: 'act-1',
  logLimitBytes: 64 * 1024,
  maxResponseBytes: 1024 * 1024,
};

export interface FetchInput {
  method?: string;
  url?: string;
  headers?: [string, string][];
  body?: string | Uint8Array | null;
}

type Entry = 'dispatch' | 'pull' | 'settle' | 'end';

/**
 * One isolate with a user module loaded, as the isolate host's proc holds it. Calls are numbered
 * 1, 2, ... in dispatch order; pull, settle and end act on the latest call unless given another.
 */
export class TestProc {
  readonly style: string;
  readonly logs: LogEntry[];
  readonly #isolate: ivm.Isolate;
  readonly #entries: Record<Entry, ivm.Reference>;
  /** The id of the latest call dispatched. */
  lastCall = 0;

  private constructor(
    isolate: ivm.Isolate,
    entries: Record<Entry, ivm.Reference>,
    style: string,
    logs: LogEntry[],
  ) {
    this.#isolate = isolate;
    this.#entries = entries;
    this.style = style;
    this.logs = logs;
  }

  /** Rejects with isolated-vm's error if the module fails to compile, load, evaluate or bind. */
  static async create(code: string, options: ProcOptions = {}): Promise<TestProc> {
    const memoryMb = options.memoryMb ?? 64;
    const isolate = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: memoryMb });
    const logs: LogEntry[] = [];
    try {
      const context = isolate.createContextSync();
      const rt = context.global.getSync('__procyon', { reference: true });
      context.global.deleteSync('__procyon');
      const init = rt.getSync('init', { reference: true });
      const log = new ivm.Callback((level: string, msg: string, call: number) => {
        logs.push({ level, msg, call });
      });
      const initArgs: unknown[] = [log, new ivm.ExternalCopy(options.init ?? {}).copyInto()];
      const host = options.host;
      if (host) {
        initArgs.push(
          // A host that throws or rejects answers as the bridge does: the error as data. Sync
          // answers stay sync (hostCallSync).
          new ivm.Reference((op: string, args: unknown[], token: number) => {
            try {
              const value = host(op, args, token);
              if (!(value instanceof Promise)) return { ok: true, value };
              return value.then((v: unknown) => ({ ok: true, value: v }), bridgeError);
            } catch (err) {
              return bridgeError(err);
            }
          }),
        );
      }
      init.applySync(undefined, initArgs);
      const mod = isolate.compileModuleSync(code, { filename: 'user.js' });
      mod.instantiateSync(context, (specifier) => {
        throw new Error(`import of "${specifier}" is not allowed`);
      });
      await mod.evaluate({ timeout: 2_000 });
      const meta: BindMeta = {
        namespace: 'ns',
        fn: 'fn',
        version: 'v1',
        memoryMb,
        vars: options.vars ?? {},
        ...(options.bindings ? { bindings: options.bindings } : {}),
        ...(options.process ? { process: options.process } : {}),
      };
      const bind = rt.getSync('bind', { reference: true });
      const style = (await bind.apply(undefined, [mod.namespace.derefInto(), meta], {
        arguments: { copy: true },
      })) as string;
      const entry = (name: string): ivm.Reference => rt.getSync(name, { reference: true });
      const entries = {
        dispatch: entry('dispatch'),
        pull: entry('pull'),
        settle: entry('settle'),
        end: entry('end'),
      };
      return new TestProc(isolate, entries, style, logs);
    } catch (err) {
      isolate.dispose();
      throw err;
    }
  }

  /** Dispatches a call (numbered after the latest one unless `call.callId` says otherwise). */
  async dispatch(input: DispatchInput, call: Partial<CallOptions> = {}): Promise<DispatchResult> {
    const callId = call.callId ?? this.lastCall + 1;
    this.lastCall = Math.max(this.lastCall, callId);
    const options: CallOptions = { ...DEFAULT_CALL, deadline: Date.now() + 5_000, ...call, callId };
    return (await this.#entries.dispatch.apply(undefined, [input, options], {
      arguments: { copy: true },
      result: { promise: true, copy: true },
      timeout: 5_000,
    })) as DispatchResult;
  }

  /** `__procyon.pull(callId, maxBytes)`: the next chunk of a call's streamed body. */
  async pull(maxBytes: number, callId = this.lastCall): Promise<PullResult> {
    return (await this.#entries.pull.apply(undefined, [callId, maxBytes], {
      result: { promise: true, copy: true },
      timeout: 5_000,
    })) as PullResult;
  }

  /** `__procyon.settle(callId, timeoutMs)`: waits for a call's waitUntil promises. */
  async settle(timeoutMs?: number, callId = this.lastCall): Promise<SettleResult> {
    const args = timeoutMs === undefined ? [callId] : [callId, timeoutMs];
    return (await this.#entries.settle.apply(undefined, args, {
      result: { promise: true, copy: true },
      timeout: 5_000,
    })) as SettleResult;
  }

  /** `__procyon.end(callId)`: the host is done with a call. */
  end(callId = this.lastCall): void {
    this.#entries.end.applySync(undefined, [callId]);
  }

  /** Pulls the streamed body to its end: the chunks as the host got them, or the error that ended it. */
  async drain(
    maxBytes: number,
    callId = this.lastCall,
  ): Promise<{ chunks: Uint8Array[]; error?: { code: string; message: string } }> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const result = await this.pull(maxBytes, callId);
      if (!result.ok) return { chunks, error: result.error };
      if (result.value === null) return { chunks };
      chunks.push(result.value);
    }
  }

  fetch(request: FetchInput = {}, call: Partial<CallOptions> = {}): Promise<DispatchResult> {
    const body =
      typeof request.body === 'string' ? new TextEncoder().encode(request.body) : (request.body ?? null);
    return this.dispatch(
      {
        type: 'fetch',
        request: {
          method: request.method ?? 'GET',
          url: request.url ?? 'https://fn.example/',
          headers: request.headers ?? [],
          body,
        },
      },
      call,
    );
  }

  event(event: unknown, call: Partial<CallOptions> = {}): Promise<DispatchResult> {
    return this.dispatch({ type: 'event', event }, call);
  }

  dispose(): void {
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }
}

/** A host error as the bridge sends it (its Procyon `code`, if any, kept). */
function bridgeError(err: unknown): { ok: false; error: { name: string; message: string; code?: string } } {
  const { name, message, code } = err as { name: string; message: string; code?: string };
  return { ok: false, error: { name, message, ...(code === undefined ? {} : { code }) } };
}

/** Creates a proc, runs `fn` with it, and disposes it. */
export async function withProc<T>(
  code: string,
  fn: (proc: TestProc) => Promise<T>,
  options?: ProcOptions,
): Promise<T> {
  const proc = await TestProc.create(code, options);
  try {
    return await fn(proc);
  } finally {
    proc.dispose();
  }
}

/** Helpers `evalPrelude` bodies may use: the name and message of what a function throws. */
const EVAL_HELPERS = `
const thrown = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
const rejected = async (fn) => { try { await fn(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
`;

/**
 * Runs `body` as an async function in a fresh isolate from the snapshot (no user module) and
 * returns its copied result: for testing the web APIs directly. `thrown(fn)` and `rejected(fn)`
 * return "Name: message" of what `fn` throws, or "no error".
 */
export async function evalPrelude<T = unknown>(body: string): Promise<T> {
  const isolate = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: 64 });
  try {
    const context = isolate.createContextSync();
    return (await context.eval(`(async () => {${EVAL_HELPERS}\n${body}\n})()`, {
      promise: true,
      copy: true,
      timeout: 2_000,
      filename: 'test.js',
    })) as T;
  } finally {
    isolate.dispose();
  }
}

/** Decodes a fetch result's body, or fails with the error it carries. */
export function fetchResult(result: DispatchResult): {
  status: number;
  headers: [string, string][];
  text: string;
} {
  if (!result.ok) throw new Error(`expected a response, got ${result.error.code}: ${result.error.message}`);
  if (result.result.type !== 'fetch') throw new Error(`expected a fetch result, got ${result.result.type}`);
  const { status, headers, body } = result.result.response;
  return { status, headers, text: new TextDecoder().decode(body) };
}

/** The error of a failed call, or fails if it succeeded. */
export function errorOf(result: DispatchResult): { code: string; message: string; stack?: string } {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.result)}`);
  return result.error;
}
