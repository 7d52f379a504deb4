/**
 * The node's handle on one isolate host process: spawns it, frames messages on its channel,
 * matches answers to calls, streams call tails (bodies, waitUntil), serves its `rpc`s, and
 * restarts it with backoff when it dies, answering its in-flight calls with HOST_CRASHED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { WireError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CallTail, DriverOutput, RpcHandler, TailResult, ValidateOutput } from '../types.js';
import type { BridgeReply } from './bridges/index.js';
import type { FromHost, HostOptions, ToHost } from './protocol.js';
import { encode, readFrames } from './wire.js';

const HOST_MAIN = fileURLToPath(new URL('./host-main.js', import.meta.url));
/** Beyond the function's own timeout, how long a host may stay silent before we call it hung. (ms) */
const HUNG_HOST_GRACE_MS = 5_000;
const RESTART_BACKOFF_MS = [50, 200, 1_000, 5_000];
/** Largest chunk a host sends per pull of a streamed body. (bytes) */
const CHUNK_BYTES = 64 * 1024;

export interface HostHandleOptions extends HostOptions {
  logger: Logger;
  rpc: RpcHandler;
}

type Answer = DriverOutput | ValidateOutput;

interface Pending {
  activationId: string;
  timer: NodeJS.Timeout;
  resolve: (out: Answer) => void;
  /** What to answer if the host dies first. */
  onCrash: () => Answer;
}

interface TailState {
  chunk: { resolve: (data: Uint8Array | null) => void; reject: (err: Error) => void } | null;
  done: (meta: TailResult) => void;
}

const CRASHED: WireError = {
  code: 'PROCYON_HOST_CRASHED',
  message: 'the isolate host running this call crashed; it has been restarted',
};

export class HostHandle {
  child!: ChildProcess;
  readonly pending = new Map<number, Pending>();
  readonly #tails = new Map<number, TailState>();
  /** Version keys this host has been sent code for. */
  readonly loaded = new Set<string>();
  #ready!: Promise<void>;
  #channel!: Socket;
  #nextId = 1;
  #crashes = 0;
  #closing = false;

  constructor(
    readonly index: number,
    private readonly options: HostHandleOptions,
    private readonly onRestart: () => void,
  ) {
    this.#spawn();
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  get busy(): number {
    return this.pending.size + this.#tails.size;
  }

  #spawn(): void {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--enable-source-maps', HOST_MAIN], {
      // fd 3 is the framed message channel (wire.ts); stdout/stderr are the node's.
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        PROCYON_HOST_OPTIONS: JSON.stringify({
          keepAliveMs: this.options.keepAliveMs,
          maxProcsPerVersion: this.options.maxProcsPerVersion,
          stemCells: this.options.stemCells,
          defaultMemoryMb: this.options.defaultMemoryMb,
          denyEgress: this.options.denyEgress,
          fetchTimeoutMs: this.options.fetchTimeoutMs,
          fetchMaxResponseBytes: this.options.fetchMaxResponseBytes,
        } satisfies HostOptions),
      },
    });
    this.child = child;
    this.#channel = child.stdio[3] as Socket;
    // A write to a host that just died fails; its exit handler answers the calls.
    this.#channel.on('error', () => undefined);
    this.#ready = new Promise((resolve, reject) => {
      readFrames<FromHost>(this.#channel, (msg) => {
        if (msg.t === 'ready') {
          this.#crashes = 0;
          this.options.logger.debug({ host: this.index, snapshotMs: msg.snapshotMs }, 'isolate host ready');
          resolve();
        } else this.#receive(msg);
      });
      child.once('error', reject);
    });
    // A host that never becomes ready is handled by the exit path; never leave this unobserved.
    this.#ready.catch(() => undefined);
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
  }

  #receive(msg: FromHost): void {
    switch (msg.t) {
      case 'invoked':
      case 'validated': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.t === 'invoked' && msg.tail) {
          const streamed =
            msg.out.ok && msg.out.result.type === 'fetch' && msg.out.result.response.stream === true;
          p.resolve({ ...msg.out, tail: this.#openTail(msg.id, streamed) });
        } else p.resolve(msg.out);
        return;
      }
      case 'chunk': {
        const tail = this.#tails.get(msg.id);
        const waiter = tail?.chunk;
        if (tail) tail.chunk = null;
        waiter?.resolve(msg.data);
        return;
      }
      case 'finished': {
        const tail = this.#tails.get(msg.id);
        this.#tails.delete(msg.id);
        tail?.done(msg.meta);
        return;
      }
      case 'rpc': {
        const { id, key, activationId, op, args } = msg;
        void this.options
          .rpc({ key, activationId }, op, args)
          .then(
            (value): BridgeReply => ({ ok: true, value }),
            (err: unknown): BridgeReply => ({
              ok: false,
              error:
                err instanceof Error
                  ? { name: err.name, message: err.message }
                  : { name: 'Error', message: String(err) },
            }),
          )
          .then((reply) => this.send({ t: 'rpc-result', id, reply }));
        return;
      }
    }
  }

  #openTail(id: number, streamed: boolean): CallTail {
    let resolveDone!: (meta: TailResult) => void;
    const done = new Promise<TailResult>((resolve) => (resolveDone = resolve));
    const state: TailState = { chunk: null, done: resolveDone };
    this.#tails.set(id, state);
    const pull = (): Promise<Uint8Array | null> =>
      new Promise((resolve, reject) => {
        state.chunk = { resolve, reject };
        this.send({ t: 'pull', id, maxBytes: CHUNK_BYTES });
      });
    const send = this.send.bind(this);
    const tails = this.#tails;
    async function* body(): AsyncGenerator<Uint8Array> {
      let ended = false;
      try {
        for (;;) {
          const data = await pull();
          if (data === null) {
            ended = true;
            return;
          }
          yield data;
        }
      } finally {
        // The consumer stopped early (client gone): tell the host to end the stream.
        if (!ended && tails.has(id)) send({ t: 'cancel', id });
      }
    }
    return { body: streamed ? body() : null, done };
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.loaded.clear();
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      clearTimeout(p.timer);
      p.resolve(p.onCrash());
    }
    const tails = [...this.#tails.values()];
    this.#tails.clear();
    for (const t of tails) {
      t.chunk?.reject(new Error(CRASHED.message));
      t.done({ cpuMs: 0, logs: [], logsTruncated: false, error: CRASHED });
    }
    if (this.#closing) return;
    this.options.logger.warn(
      { host: this.index, code, signal, failedCalls: failed.length + tails.length },
      'isolate host exited; restarting',
    );
    const delay = RESTART_BACKOFF_MS[Math.min(this.#crashes, RESTART_BACKOFF_MS.length - 1)] ?? 5_000;
    this.#crashes++;
    this.onRestart();
    this.#ready = new Promise((resolve) => setTimeout(resolve, delay)).then(() => {
      if (this.#closing) return;
      this.#spawn();
      return this.#ready;
    });
  }

  request(
    build: (id: number) => ToHost,
    activationId: string,
    timeoutMs: number,
    onCrash: () => Answer,
    onHung: () => Answer,
  ): Promise<Answer> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The host stopped answering: treat it as crashed. This call reports the hang; the
        // others on the host get HOST_CRASHED, and the host is replaced.
        this.pending.delete(id);
        resolve(onHung());
        this.options.logger.error({ host: this.index, activationId }, 'isolate host hung; killing it');
        this.child.kill('SIGKILL');
      }, timeoutMs + HUNG_HOST_GRACE_MS);
      this.pending.set(id, { activationId, timer, resolve, onCrash });
      // If the host is gone the write fails silently and the exit handler answers this call.
      this.#channel.write(encode(build(id)));
    });
  }

  send(msg: ToHost): void {
    if (this.#channel.writable) this.#channel.write(encode(msg));
  }

  async close(): Promise<void> {
    this.#closing = true;
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      // The host exits when its channel closes.
      this.#channel.end();
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    });
  }
}
