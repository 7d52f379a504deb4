/**
 * What an isolate host does, wherever it runs: holds procs (isolates) by the node's ids, runs calls
 * on them, streams call tails, forwards bridge `rpc`s, and reports memory. It speaks the protocol
 * of protocol.ts through `send` and `handle`; host-main.ts runs it in a child process over a framed
 * pipe, and trusted mode runs it inside the node itself (no pipe, no copies between processes).
 */
import ivm from 'isolated-vm';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WireError } from '../../errors.js';
import type { InvokeOutput } from '../types.js';
import { replyError, type BridgeReply } from './bridges/index.js';
import { IsolateProc, type CallTail, type ProcHooks } from './proc.js';
import type { MemoryKillReason } from './memory-watch.js';
import type { FromHost, HostOptions, LoadSpec, ToHost } from './protocol.js';
import { StemPool } from './stem.js';

const PRELUDE_PATH = fileURLToPath(new URL('../../../runtime/prelude.js', import.meta.url));
/** The node's default per-activation log budget; calls carry their own. (bytes) */
const DEFAULT_LOG_LIMIT_BYTES = 64 * 1024;
/**
 * Evicted isolates are disposed this much later: disposal blocks the event loop, and a deploy's
 * first call is usually right behind its predecessor's retirement. (ms)
 */
const DISPOSE_DELAY_MS = 100;
/** How often the host reports its memory to the node's scheduler. (ms) */
const STATS_INTERVAL_MS = 2_000;
/** Memory sizes kept stocked with stem cells (the default size first). */
const STEM_SIZES = 4;

interface OpenTail {
  tail: CallTail;
  proc: IsolateProc;
  procId: number;
}

export class HostRuntime {
  /** How long the prelude snapshot took to build. (ms) */
  readonly snapshotMs: number;
  readonly #snapshot: ivm.ExternalCopy<ArrayBuffer>;
  readonly #stems: StemPool;
  readonly #hooks: ProcHooks;
  /** Procs by the node's id; a promise while the proc is being made. */
  readonly #procs = new Map<number, Promise<IsolateProc>>();
  /** Each version's code, kept while the node has procs of it here. */
  readonly #codes = new Map<string, LoadSpec>();
  /** Calls whose response went out but whose tail (stream, waitUntil) is still running. */
  readonly #tails = new Map<number, OpenTail>();
  /** Bridge requests waiting for the node's answer. */
  readonly #rpcs = new Map<number, (reply: BridgeReply) => void>();
  readonly #stats: NodeJS.Timeout;
  /** Memory-limit kills not yet reported. */
  #kills: Partial<Record<MemoryKillReason, number>> = {};
  #nextRpc = 1;

  constructor(
    options: HostOptions,
    private readonly send: (msg: FromHost) => void,
  ) {
    const t0 = performance.now();
    this.#snapshot = ivm.Isolate.createSnapshot([
      { code: readFileSync(PRELUDE_PATH, 'utf8'), filename: 'procyon:prelude.js' },
    ]);
    this.snapshotMs = performance.now() - t0;
    this.#stems = new StemPool(this.#snapshot, DEFAULT_LOG_LIMIT_BYTES, options.stemCells, STEM_SIZES);
    // Functions use the default memory size unless they say otherwise: have those ready at once.
    this.#stems.stock(options.defaultMemoryMb);
    this.#hooks = {
      egress: {
        deny: options.denyEgress,
        timeoutMs: options.fetchTimeoutMs,
        maxResponseBytes: options.fetchMaxResponseBytes,
      },
      rpc: ({ key, activationId }, op, args) =>
        new Promise((resolve, reject) => {
          const id = this.#nextRpc++;
          this.#rpcs.set(id, (reply) => {
            if (reply.ok) resolve(reply.value);
            else reject(replyError(reply.error));
          });
          this.send({ t: 'rpc', id, key, activationId, op, args });
        }),
      memoryKill: (reason) => {
        this.#kills[reason] = (this.#kills[reason] ?? 0) + 1;
      },
    };
    // The node's scheduler keeps procs within a memory budget; it needs what they really use.
    this.#stats = setInterval(() => void this.#reportStats(), STATS_INTERVAL_MS);
    this.#stats.unref();
  }

  async handle(msg: ToHost): Promise<void> {
    switch (msg.t) {
      case 'invoke':
        return this.#invoke(msg);
      case 'spawn': {
        if (msg.load) this.#codes.set(msg.key, msg.load);
        try {
          const proc = await this.#procFor(msg.proc, msg.key, DEFAULT_LOG_LIMIT_BYTES).proc;
          this.send({ t: 'spawned', id: msg.id, out: { ok: true, style: proc.style } });
        } catch (err) {
          this.send({ t: 'spawned', id: msg.id, out: { ok: false, error: wireOf(err) } });
        }
        return;
      }
      case 'evict': {
        const pending = this.#procs.get(msg.proc);
        this.#procs.delete(msg.proc);
        if (msg.forget) this.#codes.delete(msg.forget);
        pending?.then(
          (proc) => setTimeout(() => proc.dispose(), DISPOSE_DELAY_MS).unref(),
          () => undefined,
        );
        return;
      }
      case 'pull': {
        const open = this.#tails.get(msg.id);
        if (!open) return;
        const data = await open.tail.pull(msg.maxBytes);
        const error = data === null ? open.tail.failure() : undefined;
        this.send({ t: 'chunk', id: msg.id, data, ...(error ? { error } : {}) });
        if (data === null) await this.#finishTail(msg.id);
        return;
      }
      case 'cancel': {
        const open = this.#tails.get(msg.id);
        if (!open) return;
        open.tail.cancel();
        await this.#finishTail(msg.id);
        return;
      }
      case 'rpc-result': {
        const resolve = this.#rpcs.get(msg.id);
        this.#rpcs.delete(msg.id);
        resolve?.(msg.reply);
        return;
      }
      case 'validate': {
        try {
          // Deploys are not latency-critical: stems are kept for cold starts.
          const proc = await IsolateProc.create(this.#snapshot, msg.load, DEFAULT_LOG_LIMIT_BYTES);
          const style = proc.style;
          proc.dispose();
          this.send({ t: 'validated', id: msg.id, out: { ok: true, style } });
        } catch (err) {
          this.send({ t: 'validated', id: msg.id, out: { ok: false, error: wireOf(err) } });
        }
        return;
      }
    }
  }

  /** Stops reporting and disposes every proc (trusted mode's shutdown; a child just exits). */
  close(): void {
    clearInterval(this.#stats);
    for (const pending of this.#procs.values())
      pending.then(
        (p) => p.dispose(),
        () => undefined,
      );
    this.#procs.clear();
  }

  async #invoke(msg: Extract<ToHost, { t: 'invoke' }>): Promise<void> {
    if (msg.load) this.#codes.set(msg.key, msg.load);
    const { proc: pending, cold } = this.#procFor(msg.proc, msg.key, msg.call.logLimitBytes);
    let proc: IsolateProc;
    try {
      proc = await pending;
    } catch (err) {
      const out = loadFailure(err, msg.call.activationId);
      this.send({ t: 'invoked', id: msg.id, out, tail: false, procGone: true });
      return;
    }
    const { out, tail } = await proc.call(msg.input, msg.call, cold, this.#hooks, msg.key);
    if (!tail) {
      this.send({ t: 'invoked', id: msg.id, out, tail: false, procGone: this.#gone(msg.proc, proc) });
      return;
    }
    this.send({ t: 'invoked', id: msg.id, out, tail: true });
    this.#tails.set(msg.id, { tail, proc, procId: msg.proc });
    // Without a stream the tail is only waitUntil work: wait for it now. A stream ends by pulls.
    if (!(out.ok && out.result.type === 'fetch' && out.result.response.stream))
      await this.#finishTail(msg.id);
  }

  /** The proc for a call: existing, being made, or made now from the version's code (cold). */
  #procFor(procId: number, key: string, logLimit: number): { proc: Promise<IsolateProc>; cold: boolean } {
    const existing = this.#procs.get(procId);
    if (existing) return { proc: existing, cold: false };
    const load = this.#codes.get(key);
    // The node believed this host had the code; a host restart raced the call. It will resend.
    if (!load) return { proc: Promise.reject(lostCode()), cold: true };
    const made = IsolateProc.create(this.#snapshot, load, logLimit, this.#stems.take(load.memoryMb));
    this.#procs.set(procId, made);
    made.catch(() => this.#procs.delete(procId));
    return { proc: made, cold: true };
  }

  /** Forgets a proc that hit a limit and was disposed; the node forgets it when told. */
  #gone(procId: number, proc: IsolateProc): boolean {
    if (!proc.disposed) return false;
    this.#procs.delete(procId);
    return true;
  }

  async #finishTail(id: number): Promise<void> {
    const open = this.#tails.get(id);
    if (!open) return;
    const meta = await open.tail.finish();
    this.#tails.delete(id);
    this.send({ t: 'finished', id, meta: { ...meta, procGone: this.#gone(open.procId, open.proc) } });
  }

  async #reportStats(): Promise<void> {
    const entries: [number, number][] = [];
    let externalBytes = 0;
    for (const [id, pending] of this.#procs) {
      const proc = await pending.catch(() => null);
      if (!proc || proc.disposed) continue;
      const memory = proc.memory();
      entries.push([id, memory.totalBytes]);
      externalBytes += memory.externalBytes;
    }
    const memoryKills = this.#kills;
    this.#kills = {};
    this.send({ t: 'stats', rss: process.memoryUsage.rss(), procs: entries, externalBytes, memoryKills });
  }
}

function lostCode(): Error {
  const wire: WireError = {
    code: 'PROCYON_HOST_CRASHED',
    message: 'isolate host lost the function code; retry',
  };
  return Object.assign(new Error(wire.message), { wire });
}

function wireOf(err: unknown): WireError {
  return (err as { wire?: WireError }).wire ?? { code: 'PROCYON_BUILD_FAILED', message: String(err) };
}

/** A module that deployed fine but fails to load now is the function's fault. */
function loadFailure(err: unknown, activationId: string): InvokeOutput {
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
