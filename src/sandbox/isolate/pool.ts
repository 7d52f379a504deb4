/**
 * The warm procs of one function version inside an isolate host. A proc runs one call at a time;
 * a busy pool grows up to `maxProcs`, after which calls wait for a proc to come free.
 */
import type ivm from 'isolated-vm';
import type { WireError } from '../../errors.js';
import type { InvokeInput, InvokeOutput } from '../types.js';
import { IsolateProc } from './proc.js';
import type { CallSpec, LoadSpec } from './protocol.js';

export class VersionPool {
  readonly #load: LoadSpec;
  readonly #snapshot: ivm.ExternalCopy<ArrayBuffer>;
  readonly #maxProcs: number;
  #idle: IsolateProc[] = [];
  #busy = 0;
  #waiters: (() => void)[] = [];
  #retired = false;

  constructor(load: LoadSpec, snapshot: ivm.ExternalCopy<ArrayBuffer>, maxProcs: number) {
    this.#load = load;
    this.#snapshot = snapshot;
    this.#maxProcs = maxProcs;
  }

  get size(): number {
    return this.#idle.length + this.#busy;
  }

  async invoke(input: InvokeInput, call: CallSpec): Promise<InvokeOutput> {
    while (this.#idle.length === 0 && this.#busy >= this.#maxProcs) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#busy++;
    try {
      let proc = this.#idle.pop();
      let cold = false;
      if (!proc) {
        cold = true;
        try {
          proc = await IsolateProc.create(this.#snapshot, this.#load, call.logLimitBytes);
        } catch (err) {
          const wire = (err as { wire?: WireError }).wire ?? {
            code: 'PROCYON_INTERNAL',
            message: String(err),
          };
          // A module that deployed fine but fails to load now is the function's fault.
          const error: WireError =
            wire.code === 'PROCYON_BUILD_FAILED' ? { ...wire, code: 'PROCYON_FUNCTION_ERROR' } : wire;
          const logs = error.stack ? [{ ts: Date.now(), level: 'error' as const, msg: error.stack }] : [];
          return {
            ok: false,
            error: { code: error.code, message: error.message },
            activationId: call.activationId,
            cold,
            cpuMs: 0,
            logs,
            logsTruncated: false,
          };
        }
      }
      const out = await proc.call(input, call, cold);
      if (proc.disposed || this.#retired) proc.dispose();
      else this.#idle.push(proc);
      return out;
    } finally {
      this.#busy--;
      this.#waiters.shift()?.();
    }
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
