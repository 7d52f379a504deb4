/**
 * The warm procs of one function version inside an isolate host. A proc runs one call at a time
 * (including the call's tail: a streamed body, waitUntil work); a busy pool grows up to
 * `maxProcs`, after which calls wait for a proc to come free (nested service-binding calls do
 * not wait: their callers hold procs, so waiting could deadlock a chain through one version).
 */
import type { WireError } from '../../errors.js';
import type { InvokeInput } from '../types.js';
import type { IsolateProc } from './proc.js';
import { type CallResult, type ProcHooks } from './proc.js';
import type { CallSpec, LoadSpec } from './protocol.js';

/** Makes a proc for a version: from a stem cell when one is ready. */
export type ProcFactory = (load: LoadSpec, logLimitBytes: number) => Promise<IsolateProc>;

export class VersionPool {
  readonly #load: LoadSpec;
  readonly #makeProc: ProcFactory;
  readonly #maxProcs: number;
  #idle: IsolateProc[] = [];
  #busy = 0;
  #waiters: (() => void)[] = [];
  #retired = false;

  constructor(load: LoadSpec, makeProc: ProcFactory, maxProcs: number) {
    this.#load = load;
    this.#makeProc = makeProc;
    this.#maxProcs = maxProcs;
  }

  get size(): number {
    return this.#idle.length + this.#busy;
  }

  async invoke(input: InvokeInput, call: CallSpec, hooks: ProcHooks): Promise<CallResult> {
    while (this.#idle.length === 0 && this.#busy >= this.#maxProcs && !call.nested) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#busy++;
    let proc = this.#idle.pop();
    const cold = !proc;
    if (!proc) {
      try {
        proc = await this.#makeProc(this.#load, call.logLimitBytes);
      } catch (err) {
        this.#release(undefined);
        return { out: loadFailure(err, call.activationId), tail: null };
      }
    }
    let result: CallResult;
    try {
      result = await proc.call(input, call, cold, hooks, this.#load.key);
    } catch (err) {
      this.#release(proc);
      throw err;
    }
    if (!result.tail) {
      this.#release(proc);
      return result;
    }
    const { tail } = result;
    const owner = proc;
    return {
      out: result.out,
      tail: {
        pull: (n) => tail.pull(n),
        cancel: () => tail.cancel(),
        finish: () => tail.finish().finally(() => this.#release(owner)),
      },
    };
  }

  #release(proc: IsolateProc | undefined): void {
    this.#busy--;
    if (proc) {
      if (proc.disposed || this.#retired) proc.dispose();
      else this.#idle.push(proc);
    }
    this.#waiters.shift()?.();
  }

  /** Disposes procs idle since before `cutoff` (ms since epoch). */
  sweep(cutoff: number): void {
    const keep: IsolateProc[] = [];
    for (const proc of this.#idle) {
      if (proc.lastUsed < cutoff) proc.dispose();
      else keep.push(proc);
    }
    this.#idle = keep;
  }

  /** No new procs; idle ones go now, busy ones when their call ends. */
  retire(): void {
    this.#retired = true;
    for (const proc of this.#idle) proc.dispose();
    this.#idle = [];
  }
}

/** A module that deployed fine but fails to load now is the function's fault. */
function loadFailure(err: unknown, activationId: string): CallResult['out'] {
  const wire = (err as { wire?: WireError }).wire ?? { code: 'PROCYON_INTERNAL', message: String(err) };
  const code = wire.code === 'PROCYON_BUILD_FAILED' ? 'PROCYON_FUNCTION_ERROR' : wire.code;
  const logs = wire.stack ? [{ ts: Date.now(), level: 'error' as const, msg: wire.stack }] : [];
  return {
    ok: false,
    error: { code, message: wire.message },
    activationId,
    cold: true,
    cpuMs: 0,
    logs,
    logsTruncated: false,
  };
}
