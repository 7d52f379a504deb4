/**
 * Entry point of an isolate host: a child process of the node that owns many isolates (procs)
 * and runs calls on them. If V8 brings this process down (a heap OOM outside the isolate's
 * limit, a native crash), only this host's in-flight calls fail; the node restarts it.
 */
import ivm from 'isolated-vm';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { WireError } from '../../errors.js';
import type { BridgeReply } from './bridges/index.js';
import { VersionPool, type ProcFactory } from './pool.js';
import { StemPool } from './stem.js';
import { IsolateProc, type CallTail, type ProcHooks } from './proc.js';
import type { FromHost, HostOptions, ToHost } from './protocol.js';
import { encode, readFrames } from './wire.js';

const PRELUDE_PATH = fileURLToPath(new URL('../../../runtime/prelude.js', import.meta.url));

// fd 3: the framed channel to the node (see wire.ts).
const channel = new Socket({ fd: 3, readable: true, writable: true });

function send(msg: FromHost): void {
  channel.write(encode(msg));
}

const options = JSON.parse(process.env.PROCYON_HOST_OPTIONS ?? '{}') as HostOptions;
const t0 = performance.now();
const snapshot = ivm.Isolate.createSnapshot([
  { code: readFileSync(PRELUDE_PATH, 'utf8'), filename: 'procyon:prelude.js' },
]);
const pools = new Map<string, VersionPool>();
/** The node's default per-activation log budget; calls carry their own. (bytes) */
const DEFAULT_LOG_LIMIT_BYTES = 64 * 1024;
/** Retired versions' idle isolates are disposed this much later. (ms) */
const RETIRE_DELAY_MS = 100;
/** Memory sizes kept stocked with stem cells (the default size first). */
const STEM_SIZES = 4;
const stems = new StemPool(snapshot, DEFAULT_LOG_LIMIT_BYTES, options.stemCells, STEM_SIZES);
// Functions use the default memory size unless they say otherwise: have those ready at once.
stems.stock(options.defaultMemoryMb);
const makeProc: ProcFactory = (load, logLimit) =>
  IsolateProc.create(snapshot, load, logLimit, stems.take(load.memoryMb));
/** Calls whose response went out but whose tail (stream, waitUntil) is still running. */
const tails = new Map<number, CallTail>();
/** Bridge requests waiting for the node's answer. */
const rpcs = new Map<number, (reply: BridgeReply) => void>();
let nextRpc = 1;

const hooks: ProcHooks = {
  egress: {
    deny: options.denyEgress,
    timeoutMs: options.fetchTimeoutMs,
    maxResponseBytes: options.fetchMaxResponseBytes,
  },
  rpc: ({ key, activationId }, op, args) =>
    new Promise((resolve, reject) => {
      const id = nextRpc++;
      rpcs.set(id, (reply) => {
        if (reply.ok) resolve(reply.value);
        else reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
      });
      send({ t: 'rpc', id, key, activationId, op, args });
    }),
};

async function finishTail(id: number, tail: CallTail): Promise<void> {
  const meta = await tail.finish();
  tails.delete(id);
  send({ t: 'finished', id, meta });
}

async function handle(msg: ToHost): Promise<void> {
  switch (msg.t) {
    case 'invoke': {
      let pool = pools.get(msg.key);
      if (!pool && msg.load) {
        pool = new VersionPool(msg.load, makeProc, options.maxProcsPerVersion);
        pools.set(msg.key, pool);
      }
      if (!pool) {
        // The node believed this host had the code; a host restart raced the call. It will resend.
        const error: WireError = {
          code: 'PROCYON_HOST_CRASHED',
          message: 'isolate host lost the function code; retry',
        };
        const meta = {
          activationId: msg.call.activationId,
          cold: false,
          cpuMs: 0,
          logs: [],
          logsTruncated: false,
        };
        send({ t: 'invoked', id: msg.id, out: { ok: false, error, ...meta }, tail: false });
        return;
      }
      const { out, tail } = await pool.invoke(msg.input, msg.call, hooks);
      send({ t: 'invoked', id: msg.id, out, tail: tail !== null });
      if (!tail) return;
      tails.set(msg.id, tail);
      // Without a stream the tail is only waitUntil work: wait for it now. A stream ends by pulls.
      if (!(out.ok && out.result.type === 'fetch' && out.result.response.stream))
        await finishTail(msg.id, tail);
      return;
    }
    case 'pull': {
      const tail = tails.get(msg.id);
      if (!tail) return;
      const data = await tail.pull(msg.maxBytes);
      send({ t: 'chunk', id: msg.id, data });
      if (data === null) await finishTail(msg.id, tail);
      return;
    }
    case 'cancel': {
      const tail = tails.get(msg.id);
      if (!tail) return;
      tail.cancel();
      await finishTail(msg.id, tail);
      return;
    }
    case 'rpc-result': {
      const resolve = rpcs.get(msg.id);
      rpcs.delete(msg.id);
      resolve?.(msg.reply);
      return;
    }
    case 'validate': {
      try {
        // Deploys are not latency-critical: stems are kept for cold starts.
        const proc = await IsolateProc.create(snapshot, msg.load, DEFAULT_LOG_LIMIT_BYTES);
        const style = proc.style;
        proc.dispose();
        send({ t: 'validated', id: msg.id, out: { ok: true, style } });
      } catch (err) {
        const wire = (err as { wire?: WireError }).wire;
        const error = wire ?? { code: 'PROCYON_BUILD_FAILED' as const, message: String(err) };
        send({ t: 'validated', id: msg.id, out: { ok: false, error } });
      }
      return;
    }
    case 'retire': {
      for (const [key, pool] of pools) {
        if (!key.startsWith(msg.prefix)) continue;
        pools.delete(key);
        // Disposing isolates blocks the event loop; a deploy's first call is usually right behind.
        setTimeout(() => pool.retire(), RETIRE_DELAY_MS).unref();
      }
      return;
    }
  }
}

readFrames<ToHost>(channel, (msg) => {
  handle(msg).catch((err: unknown) => {
    // A bug here must not leave the node waiting forever: crash, and the node restarts us.
    process.stderr.write(`isolate host: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(70);
  });
});

// Idle procs cost memory; sweep them so an unused function scales to zero.
setInterval(
  () => {
    const now = Date.now();
    for (const pool of pools.values()) {
      // The pool (and its code) stays until the version is retired; only its procs go.
      pool.sweep(now - options.keepAliveMs);
    }
  },
  Math.max(50, Math.min(30_000, options.keepAliveMs / 2)),
).unref();

// The node closed the channel (shutdown) or died: nothing left to serve.
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));
send({ t: 'ready', snapshotMs: performance.now() - t0 });
