/**
 * A proc's memory against its function's limit, for what isolated-vm's `memoryLimit` does not
 * stop by itself. V8 stops the heap at the limit, and isolated-vm's allocator refuses ArrayBuffers
 * past it (a catchable RangeError), but WebAssembly memories are reserved outside both and no heap
 * statistic shows them: a 128 MB function held a 1 GiB wasm memory after its call (issue 11). So
 * the proc reads the isolate's heap and external memory (isolated-vm) and the wasm memory the
 * prelude tracks (src/runtime/wasm-memory.ts) after every call and every CHECK_INTERVAL_MS while
 * calls are in flight; past the limit the proc fails the call with PROCYON_MEMORY_LIMIT and
 * disposes the isolate, which returns the memory to the host.
 */
import type ivm from 'isolated-vm';
import type { MemoryReport } from '../../runtime/contract.js';

/** How often memory is read while calls are in flight. (ms) */
export const CHECK_INTERVAL_MS = 100;

/** What took a proc past its memory limit (the `reason` of procyon_memory_limit_kills_total). */
export type MemoryKillReason = 'heap' | 'external' | 'wasm';

export interface MemoryReading {
  /** V8's committed heap. (bytes) */
  heapBytes: number;
  /** ArrayBuffers and other memory isolated-vm's allocator handed out. (bytes) */
  externalBytes: number;
  /** WebAssembly memories the isolate can reach. (bytes) */
  wasmBytes: number;
  /** Past the function's limit: why, or null. */
  over: MemoryKillReason | null;
}

const COPY_RESULT = { result: { copy: true } } as const;

export class MemoryWatch {
  /** The last reading; zeros before the first. */
  last: MemoryReading = { heapBytes: 0, externalBytes: 0, wasmBytes: 0, over: null };
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<MemoryReading> | null = null;

  constructor(
    private readonly isolate: ivm.Isolate,
    /** The prelude's `memory` entry (MemoryReport). */
    private readonly report: ivm.Reference,
    /** The function's memory. (bytes) */
    private readonly limitBytes: number,
    /** Called when a periodic reading finds the proc past its limit. */
    private readonly onOver: (reason: MemoryKillReason) => void,
  ) {}

  /**
   * Reads the isolate's memory now. Asynchronous on purpose: a synchronous read into an isolate
   * that is running (a waitUntil callback that spins) would block the whole host until it yields.
   * Concurrent readers share one reading.
   */
  read(): Promise<MemoryReading> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  async #read(known?: MemoryReport): Promise<MemoryReading> {
    const [heap, wasm] = await Promise.all([
      this.isolate.getHeapStatistics(),
      known ?? (this.report.apply(undefined, [], COPY_RESULT) as Promise<MemoryReport>),
    ]);
    const reading: MemoryReading = {
      heapBytes: heap.total_heap_size,
      externalBytes: heap.externally_allocated_size,
      wasmBytes: wasm.wasmBytes,
      over: null,
    };
    // The heap counts as V8 and isolated-vm's allocator count it (used, not committed), so a heap
    // that V8 itself allows is never called over the limit here.
    const used = heap.used_heap_size + reading.externalBytes + reading.wasmBytes;
    if (wasm.exceeded || (used > this.limitBytes && reading.wasmBytes > 0)) reading.over = 'wasm';
    else if (used > this.limitBytes) reading.over = reading.externalBytes > 0 ? 'external' : 'heap';
    this.last = reading;
    return reading;
  }

  /**
   * Why the isolate is past its limit once a call's code ran (`uncaught`: the error the call
   * failed with, if it did), or null. `wasm`: the wasm memory the dispatch reported (null: none;
   * undefined: unknown, read it).
   */
  async after(uncaught: string | null, wasm?: MemoryReport | null): Promise<MemoryKillReason | null> {
    // isolated-vm's allocator refused an ArrayBuffer past the limit and the code did not catch it.
    if (uncaught !== null && /Array buffer allocation failed/.test(uncaught)) return 'external';
    // The dispatch said the isolate holds no wasm memory: V8 and the allocator bound the rest, so
    // the two crossings of a reading are not worth paying on every warm call.
    if (wasm === null) return null;
    try {
      return (wasm ? await this.#read(wasm) : await this.read()).over;
    } catch {
      // Disposed meanwhile, by a periodic reading past the limit (its verdict is the last
      // reading) or for a reason the call's own error gives.
      return this.last.over;
    }
  }

  /**
   * Memory held now, without waiting: heap plus `externalBytes` (ArrayBuffers and wasm). (bytes)
   * Only an `idle` isolate is read synchronously: a synchronous read into one that is running
   * waits for it to yield, and one spinning until its timeout would block the whole host. Busy
   * ones give their last reading; wasm memory changes only while code runs, so an idle isolate's
   * last reading of it holds.
   */
  now(idle: boolean): { totalBytes: number; externalBytes: number } {
    let { heapBytes, externalBytes } = this.last;
    if (idle) {
      const h = this.isolate.getHeapStatisticsSync();
      heapBytes = h.total_heap_size;
      externalBytes = h.externally_allocated_size;
    }
    const external = externalBytes + this.last.wasmBytes;
    return { totalBytes: heapBytes + external, externalBytes: external };
  }

  /** Reads every CHECK_INTERVAL_MS until `stop` (while calls are in flight). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.read().then(
        (r) => {
          if (r.over) this.onOver(r.over);
        },
        // The isolate went (disposed by a limit or an eviction): nothing left to watch.
        () => this.stop(),
      );
    }, CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
