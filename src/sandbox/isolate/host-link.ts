/**
 * How the node reaches one isolate host: a child process over a framed pipe (the default: a crash
 * or runaway V8 takes down only that host), or, in trusted mode, a HostRuntime inside the node
 * itself — no pipe, no serialisation, no second process, for code the operator trusts as much as
 * the node (a crash there is a crash of the node).
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FromHost, HostOptions, ToHost } from './protocol.js';
import { encode, readFrames } from './wire.js';

const HOST_MAIN = fileURLToPath(new URL('./host-main.js', import.meta.url));

export interface HostLink {
  /** The host's process id (the node's own in trusted mode). */
  readonly pid: number;
  send(msg: ToHost): void;
  /** Ends a hung host at once. */
  kill(): void;
  /** Asks the host to exit; resolves when it has. */
  close(): Promise<void>;
}

// Function properties, not methods: the link hands them to stream listeners unbound.
export interface LinkEvents {
  message: (msg: FromHost) => void;
  exit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/**
 * Most 64 KiB pages one WebAssembly memory may have in a host: 2048 MB, the largest memory a
 * function may be given. A memory grown by the module's own `memory.grow` instruction is only
 * measured between turns of the isolate (memory-watch.ts); this bounds it in the meantime.
 */
const WASM_MAX_PAGES = (2048 * 2 ** 20) / 65_536;

export function processLink(options: HostOptions, events: LinkEvents, nice?: number): HostLink {
  const args = [
    '--no-node-snapshot',
    '--enable-source-maps',
    `--wasm-max-mem-pages=${WASM_MAX_PAGES}`,
    // Resizable ArrayBuffers (and growable SharedArrayBuffers) are reserved outside isolated-vm's
    // allocator, like wasm memory, so they escape the memory limit: a 128 MB isolate grew one to
    // 512 MB. Off, `maxByteLength` is ignored and every buffer is a fixed one that the limit covers.
    '--no-harmony-rab-gsab',
  ];
  const child = spawn(process.execPath, [...args, HOST_MAIN], {
    // fd 3 is the framed message channel (wire.ts); stdout/stderr are the node's.
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: { PATH: process.env.PATH ?? '', PROCYON_HOST_OPTIONS: JSON.stringify(options) },
  });
  if (nice !== undefined && child.pid !== undefined) {
    try {
      setPriority(child.pid, nice);
    } catch {
      // Not permitted here: the host runs at normal priority, which is only less fair.
    }
  }
  const channel = child.stdio[3] as Socket;
  // A write to a host that just died fails; its exit handler answers the calls.
  channel.on('error', () => undefined);
  readFrames<FromHost>(channel, events.message);
  // A host that cannot even start emits no exit: report one, so it is restarted with backoff.
  child.once('error', () => {
    if (child.pid === undefined) events.exit(null, null);
  });
  child.once('exit', events.exit);
  return {
    pid: child.pid ?? -1,
    send: (msg) => {
      if (channel.writable) channel.write(encode(msg));
    },
    kill: () => void child.kill('SIGKILL'),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // The host exits when its channel closes.
        channel.end();
        setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
      }),
  };
}

/** Trusted mode: the host runs in the node. Messages still go through a microtask each way. */
export async function localLink(options: HostOptions, events: LinkEvents): Promise<HostLink> {
  // Loaded only in trusted mode: the default node never touches isolated-vm itself.
  const { HostRuntime } = await import('./host-runtime.js');
  const runtime = new HostRuntime(options, (msg) => queueMicrotask(() => events.message(msg)));
  queueMicrotask(() => events.message({ t: 'ready', snapshotMs: runtime.snapshotMs }));
  return {
    pid: process.pid,
    send: (msg) =>
      queueMicrotask(() => {
        runtime.handle(msg).catch((err: unknown) => {
          // The node cannot restart itself: surface the bug loudly, keep serving.
          process.emitWarning(`isolate host (in-process): ${err instanceof Error ? err.stack : String(err)}`);
        });
      }),
    kill: () => process.emitWarning('trusted mode: a hung in-process isolate host cannot be killed'),
    close: async () => runtime.close(),
  };
}
