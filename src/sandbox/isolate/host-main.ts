/**
 * Entry point of an isolate host: a child process of the node that owns many isolates (procs)
 * and runs calls on them. If V8 brings this process down (a heap OOM outside the isolate's
 * limit, a native crash), only this host's in-flight calls fail; the node restarts it.
 */
import ivm from 'isolated-vm';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { InvokeOutput } from '../types.js';
import { VersionPool } from './pool.js';
import type { FromHost, HostOptions, ToHost } from './protocol.js';
import { IsolateProc } from './proc.js';
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

async function handle(msg: ToHost): Promise<void> {
  switch (msg.t) {
    case 'invoke': {
      let pool = pools.get(msg.key);
      if (!pool && msg.load) {
        pool = new VersionPool(msg.load, snapshot, options.maxProcsPerVersion);
        pools.set(msg.key, pool);
      }
      let out: InvokeOutput;
      if (!pool) {
        // The node believed this host had the code; a host restart raced the call. It will resend.
        out = failure(
          msg.call.activationId,
          'PROCYON_HOST_CRASHED',
          'isolate host lost the function code; retry',
        );
      } else {
        out = await pool.invoke(msg.input, msg.call);
      }
      send({ t: 'invoked', id: msg.id, out });
      return;
    }
    case 'validate': {
      try {
        const proc = await IsolateProc.create(snapshot, msg.load, 64 * 1024);
        const style = proc.style;
        proc.dispose();
        send({ t: 'validated', id: msg.id, out: { ok: true, style } });
      } catch (err) {
        const wire = (err as { wire?: { code: 'PROCYON_BUILD_FAILED'; message: string; stack?: string } })
          .wire;
        send({
          t: 'validated',
          id: msg.id,
          out: { ok: false, error: wire ?? { code: 'PROCYON_BUILD_FAILED', message: String(err) } },
        });
      }
      return;
    }
    case 'retire': {
      for (const [key, pool] of pools) {
        if (key.startsWith(msg.prefix)) {
          pool.retire();
          pools.delete(key);
        }
      }
      return;
    }
  }
}

function failure(activationId: string, code: 'PROCYON_HOST_CRASHED', message: string): InvokeOutput {
  return {
    ok: false,
    error: { code, message },
    activationId,
    cold: false,
    cpuMs: 0,
    logs: [],
    logsTruncated: false,
  };
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
