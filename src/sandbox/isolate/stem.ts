/**
 * Stem cells: isolates made from the prelude snapshot, context created and runtime initialised,
 * waiting to be specialised to any function. A cold start that finds one skips the isolate and
 * context creation (~2 ms of its ~3.5 ms inside the host) and only compiles and evaluates the
 * user's module. Stems are made off the request path, refilled after each use.
 */
import ivm from 'isolated-vm';
import { BRIDGES, runBridge, type BridgeContext } from './bridges/index.js';

/** Pause before and between stem refills. (ms) */
const REFILL_DELAY_MS = 10;
/** Top-level runtime calls get this long. (ms) */
const INIT_TIMEOUT_MS = 5_000;

/**
 * Where the isolate's console lines and bridge operations go. A stem serves no function yet:
 * lines are dropped and operations refused. The proc made from it points both at itself.
 */
export interface StemLink {
  /** One console line; `callId` is the call the prelude charged it to (0: none). */
  log(level: string, msg: string, callId: number): void;
  /** The call (or calls) a bridge operation with this token runs for; null refuses it. */
  context(token: unknown): BridgeContext | null;
}

export interface Stem {
  isolate: ivm.Isolate;
  context: ivm.Context;
  memoryMb: number;
  /** The runtime's entry points (`__procyon`), which only the host can reach. */
  entries: {
    bind: ivm.Reference;
    dispatch: ivm.Reference;
    pull: ivm.Reference;
    settle: ivm.Reference;
    end: ivm.Reference;
    memory: ivm.Reference;
  };
  link: StemLink;
}

export async function createStem(
  snapshot: ivm.ExternalCopy<ArrayBuffer>,
  memoryMb: number,
  logLimit: number,
): Promise<Stem> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb, snapshot });
  try {
    const link: StemLink = { log: () => undefined, context: () => null };
    const context = await isolate.createContext();
    const rt = await context.global.get('__procyon', { reference: true });
    // This and the two checks below cannot happen unless the prelude build is broken.
    if (rt.typeof !== 'object') throw new Error('runtime prelude missing from snapshot');
    // User code must not reach the runtime's entry points; the host keeps the only reference.
    await context.eval('delete globalThis.__procyon');
    const entry = async (name: string): Promise<ivm.Reference> => {
      const ref = await rt.get(name, { reference: true });
      if (ref.typeof !== 'function') throw new Error(`runtime prelude has no ${name}`);
      return ref;
    };
    const init = await entry('init');
    const log = new ivm.Callback((level: string, msg: string, callId: number) =>
      link.log(level, msg, callId),
    );
    const bridge = new ivm.Reference((op: unknown, args: unknown, token: unknown) =>
      runBridge(BRIDGES, link.context(token), op, args),
    );
    const options = { logLimitBytes: logLimit, memoryLimitBytes: memoryMb * 2 ** 20 };
    await init.apply(undefined, [log, new ivm.ExternalCopy(options).copyInto(), bridge], {
      timeout: INIT_TIMEOUT_MS,
    });
    // Fetched now, not at the cold start: each is a round trip to the isolate's thread.
    const [bind, dispatch, pull, settle, end, memory] = await Promise.all(
      ['bind', 'dispatch', 'pull', 'settle', 'end', 'memory'].map(entry),
    );
    if (!bind || !dispatch || !pull || !settle || !end || !memory)
      throw new Error('runtime prelude entry missing');
    return { isolate, context, memoryMb, entries: { bind, dispatch, pull, settle, end, memory }, link };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

/** Ready stems per memory size; sizes seen in cold starts are kept stocked. */
export class StemPool {
  readonly #ready = new Map<number, Stem[]>();
  readonly #filling = new Set<number>();

  constructor(
    private readonly snapshot: ivm.ExternalCopy<ArrayBuffer>,
    private readonly logLimit: number,
    /** Stems kept ready per memory size. */
    private readonly perSize: number,
    /** Memory sizes kept stocked at most (the most recently used win). */
    private readonly maxSizes: number,
  ) {}

  /**
   * A ready stem of this size, if any; the stock is refilled a little later. Not at once: making
   * an isolate blocks the host's event loop for ~2 ms (V8 deserialises the snapshot
   * synchronously), which would land on the very cold start that took the stem.
   */
  take(memoryMb: number): Stem | undefined {
    const stem = this.#ready.get(memoryMb)?.pop();
    setTimeout(() => this.stock(memoryMb), REFILL_DELAY_MS).unref();
    return stem;
  }

  /** Fills the stock of `memoryMb` in the background. */
  stock(memoryMb: number): void {
    if (this.perSize === 0 || this.#filling.has(memoryMb)) return;
    if (!this.#ready.has(memoryMb)) {
      if (this.#ready.size >= this.maxSizes) this.#evictOldestSize();
      this.#ready.set(memoryMb, []);
    }
    this.#filling.add(memoryMb);
    void this.#fill(memoryMb).finally(() => this.#filling.delete(memoryMb));
  }

  async #fill(memoryMb: number): Promise<void> {
    for (;;) {
      const stems = this.#ready.get(memoryMb);
      if (!stems || stems.length >= this.perSize) return;
      // One at a time, with room in between for calls: each blocks the event loop briefly.
      await new Promise((resolve) => setTimeout(resolve, REFILL_DELAY_MS));
      try {
        stems.push(await createStem(this.snapshot, memoryMb, this.logLimit));
      } catch {
        return; // the next take() tries again
      }
    }
  }

  #evictOldestSize(): void {
    const [oldest] = this.#ready.keys();
    if (oldest === undefined) return;
    for (const stem of this.#ready.get(oldest) ?? []) stem.isolate.dispose();
    this.#ready.delete(oldest);
  }

  get count(): number {
    let n = 0;
    for (const stems of this.#ready.values()) n += stems.length;
    return n;
  }
}
