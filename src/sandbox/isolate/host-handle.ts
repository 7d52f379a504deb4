/**
 * The node's handle on one isolate host: starts it (host-link.ts: a child process, or in-process
 * in trusted mode), matches answers to calls, streams call tails (bodies, waitUntil), serves its `rpc`s, and
 * restarts it with backoff when it dies, answering its in-flight calls with HOST_CRASHED.
 */
import { ProcyonError, type WireError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CallTail, DriverOutput, RpcHandler, ValidateOutput } from '../types.js';
import { errorReply, type BridgeReply } from './bridges/index.js';
import type { FromHost, HostOptions, HostStats, TailMeta, ToHost } from './protocol.js';
import { localLink, processLink, type HostLink, type LinkEvents } from './host-link.js';

/** Beyond the function's own timeout, how long a host may stay silent before we call it hung. (ms) */
const HUNG_HOST_GRACE_MS = 5_000;
const RESTART_BACKOFF_MS = [50, 200, 1_000, 5_000];
/** Largest chunk a host sends per pull of a streamed body. (bytes) */
const CHUNK_BYTES = 64 * 1024;

export interface HostHandleOptions extends HostOptions {
  /** Run the host inside the node (trusted mode; see host-link.ts). */
  trusted?: boolean;
  /** OS priority (nice) of the host process; the background host for CPU-heavy procs runs low. */
  nice?: number;
  logger: Logger;
  rpc: RpcHandler;
  /** The host's periodic memory report. */
  onStats?: (host: number, stats: HostStats) => void;
}

/** A call's answer; `procGone`: the proc that ran it was disposed (a limit, or the host died). */
export type CallAnswer = DriverOutput & { procGone?: boolean };
type Answer = CallAnswer | ValidateOutput;

interface Pending {
  activationId: string;
  timer: NodeJS.Timeout;
  resolve: (out: Answer) => void;
  /** What to answer if the host dies first. */
  onCrash: () => Answer;
}

/** One pulled piece of a streamed body: bytes, the clean end, or the end because it failed. */
type Pulled = { data: Uint8Array } | { data: null; error?: WireError };

interface TailState {
  chunk: { resolve: (pulled: Pulled) => void; reject: (err: Error) => void } | null;
  done: (meta: TailMeta) => void;
}

const CRASHED: WireError = {
  code: 'PROCYON_HOST_CRASHED',
  message: 'the isolate host running this call crashed; it has been restarted',
};

export class HostHandle {
  #link: HostLink | undefined;
  readonly pending = new Map<number, Pending>();
  readonly #tails = new Map<number, TailState>();
  /** Version keys this host has been sent code for. */
  readonly loaded = new Set<string>();
  #ready!: Promise<void>;
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

  get pid(): number {
    return this.#link?.pid ?? -1;
  }

  get busy(): number {
    return this.pending.size + this.#tails.size;
  }

  #spawn(): void {
    const options: HostOptions = {
      stemCells: this.options.stemCells,
      defaultMemoryMb: this.options.defaultMemoryMb,
      denyEgress: this.options.denyEgress,
      fetchTimeoutMs: this.options.fetchTimeoutMs,
      fetchMaxResponseBytes: this.options.fetchMaxResponseBytes,
    };
    let link: HostLink | undefined;
    let resolveReady!: () => void;
    this.#ready = new Promise((resolve) => (resolveReady = resolve));
    const events: LinkEvents = {
      message: (msg) => {
        if (msg.t !== 'ready') return this.#receive(msg);
        this.#crashes = 0;
        this.options.logger.debug({ host: this.index, snapshotMs: msg.snapshotMs }, 'isolate host ready');
        resolveReady();
      },
      exit: (code, signal) => {
        if (link && link === this.#link) this.#onExit(code, signal);
      },
    };
    if (this.options.trusted) {
      const ready = this.#ready;
      this.#ready = localLink(options, events).then((l) => {
        link = this.#link = l;
        return ready;
      });
    } else link = this.#link = processLink(options, events, this.options.nice);
  }

  #receive(msg: FromHost): void {
    switch (msg.t) {
      case 'invoked':
      case 'spawned':
      case 'validated': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.t === 'invoked' && msg.tail) {
          const streamed =
            msg.out.ok && msg.out.result.type === 'fetch' && msg.out.result.response.stream === true;
          p.resolve({ ...msg.out, tail: this.#openTail(msg.id, streamed) });
        } else if (msg.t === 'invoked') p.resolve({ ...msg.out, procGone: msg.procGone === true });
        else p.resolve(msg.out);
        return;
      }
      case 'stats':
        this.options.onStats?.(this.index, msg);
        return;
      case 'chunk': {
        const tail = this.#tails.get(msg.id);
        const waiter = tail?.chunk;
        if (tail) tail.chunk = null;
        waiter?.resolve(msg.data === null ? { data: null, error: msg.error } : { data: msg.data });
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
            (err: unknown): BridgeReply => errorReply(err),
          )
          .then((reply) => this.send({ t: 'rpc-result', id, reply }));
        return;
      }
    }
  }

  #openTail(id: number, streamed: boolean): CallTail {
    let resolveDone!: (meta: TailMeta) => void;
    const done = new Promise<TailMeta>((resolve) => (resolveDone = resolve));
    const state: TailState = { chunk: null, done: resolveDone };
    this.#tails.set(id, state);
    const pull = (): Promise<Pulled> =>
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
          const pulled = await pull();
          if (pulled.data === null) {
            ended = true;
            // A failed stream must not look complete: throwing makes the HTTP layer abort the
            // response (no terminating chunk), so the client sees a truncated body as an error.
            if (pulled.error) throw ProcyonError.fromWire(pulled.error);
            return;
          }
          yield pulled.data;
        }
      } finally {
        // The consumer stopped early (client gone): tell the host to end the stream.
        if (!ended && tails.has(id)) send({ t: 'cancel', id });
      }
    }
    return { body: streamed ? body() : null, done };
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
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
      t.done({ cpuMs: 0, logs: [], logsTruncated: false, error: CRASHED, procGone: true });
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
        this.#link?.kill();
      }, timeoutMs + HUNG_HOST_GRACE_MS);
      this.pending.set(id, { activationId, timer, resolve, onCrash });
      // If the host is gone the write fails silently and the exit handler answers this call.
      this.#link?.send(build(id));
    });
  }

  send(msg: ToHost): void {
    // Before a trusted host exists there is nothing to tell it.
    this.#link?.send(msg);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#ready.catch(() => undefined);
    await this.#link?.close();
  }
}
