/**
 * WebAssembly memory, counted against the function's memory limit. isolated-vm's `memoryLimit`
 * covers the V8 heap and ArrayBuffers (its allocator refuses past the limit), but V8 reserves a
 * `WebAssembly.Memory` outside both, and no heap statistic shows it: a function with 128 MB grew
 * one to 1 GiB and kept it (issue 11). So every wasm memory this isolate can reach is tracked here:
 * the ones made by `new WebAssembly.Memory` and the ones instances export. The host reads the total
 * (`report`, through `__procyon.memory`) during and after each call and adds it to the heap it
 * measures; growth through `Memory.prototype.grow` past the limit is refused at once. A memory
 * grown by the module's own `memory.grow` instruction shows in the next reading. A module whose
 * memory is not exported could grow out of sight, so instantiating one is refused.
 *
 * Installed by `init` in each isolate (a snapshot's context has no `WebAssembly` yet), before any
 * user code runs, so user code never sees the originals.
 */
import type { MemoryReport } from './contract.js';

const WASM_PAGE_BYTES = 65_536;
/** The memory section's id in a module's binary. */
const MEMORY_SECTION = 5;

type Constructor = new (...args: unknown[]) => object;
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmNamespace {
  Memory: Constructor & { prototype: { grow(delta: number): number } };
  Module: Constructor & { exports(module: object): { kind: string }[] };
  Instance: Constructor & { prototype: object };
  compile(bytes: unknown): Promise<object>;
  instantiate(source: unknown, imports?: unknown): Promise<unknown>;
}

/** This isolate's wasm memories (weakly: a memory the code dropped is freed by V8's GC). */
const tracked = {
  memories: [] as WeakRef<WasmMemory>[],
  seen: new WeakSet<object>(),
  /** The function's memory limit, set at init. (bytes) */
  limitBytes: Number.POSITIVE_INFINITY,
  /** A wasm memory went past the limit: the host fails the call and discards the isolate. */
  exceeded: false,
  /** Memories each compiled module defines itself (not imported). */
  defined: new WeakMap<object, number>(),
};

/** Bytes the reachable wasm memories hold now. */
function wasmBytes(): number {
  let total = 0;
  const live: WeakRef<WasmMemory>[] = [];
  for (const ref of tracked.memories) {
    const memory = ref.deref();
    if (memory === undefined) continue;
    live.push(ref);
    total += memory.buffer.byteLength;
  }
  tracked.memories = live;
  return total;
}

export function report(): MemoryReport {
  return { wasmBytes: wasmBytes(), exceeded: tracked.exceeded };
}

function overLimit(what: string): RangeError {
  tracked.exceeded = true;
  return new RangeError(`${what}: the function's memory limit (${tracked.limitBytes} bytes) is exceeded`);
}

/** Tracks `memory`; throws (and marks the limit exceeded) if the total is now past the limit. */
function track(memory: WasmMemory, what: string): void {
  if (!tracked.seen.has(memory)) {
    tracked.seen.add(memory);
    tracked.memories.push(new WeakRef(memory));
  }
  if (wasmBytes() > tracked.limitBytes) throw overLimit(what);
}

/** Memories a module's binary defines: the count of its memory section, 0 if it has none. */
function definedMemories(source: unknown): number {
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source))
    bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  else return 0; // not bytes: V8 rejects it
  const at = { pos: 8 }; // after the magic number and version
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; at.pos < bytes.length && shift < 35; shift += 7) {
      const byte = bytes[at.pos++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return value;
  };
  while (at.pos < bytes.length) {
    const id = bytes[at.pos++];
    const size = leb();
    if (id === MEMORY_SECTION) return leb();
    at.pos += size;
  }
  return 0;
}

/** Refuses a module whose own memory is not exported: its growth could not be seen. */
function checkExported(wasm: WasmNamespace, module: object): void {
  const defined = tracked.defined.get(module) ?? 0;
  const exported = wasm.Module.exports(module).filter((e) => e.kind === 'memory').length;
  if (defined > exported)
    throw new TypeError(
      'WebAssembly.Instance: a module must export the memory it defines, so that it counts against the memory limit',
    );
}

/** Tracks the memories an instance exports (`Memory`: the original class, which user code cannot replace). */
function trackExports(instance: object, Memory: Constructor): void {
  const exports = (instance as { exports: Record<string, unknown> }).exports;
  for (const value of Object.values(exports))
    if (value instanceof Memory) track(value as unknown as WasmMemory, 'WebAssembly.Instance');
}

/** Replaces a constructor with a wrapper that keeps its prototype (and `instanceof`). */
function wrapConstructor(original: Constructor, construct: (args: unknown[]) => object): Constructor {
  const wrapper = function (this: unknown, ...args: unknown[]): object {
    if (new.target === undefined) throw new TypeError(`${original.name}: must be called with new`);
    return construct(args);
  } as unknown as Constructor;
  Object.defineProperty(wrapper, 'prototype', { value: original.prototype });
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  // The original must not be reachable through an instance's `constructor`.
  Object.defineProperty(original.prototype, 'constructor', {
    value: wrapper,
    writable: true,
    configurable: true,
  });
  return wrapper;
}

/** `limitBytes`: the function's memory limit (none if absent). */
export function installWasmMemoryGuard(limitBytes: number | undefined): void {
  if (limitBytes !== undefined && limitBytes > 0) tracked.limitBytes = limitBytes;
  const wasm = (globalThis as unknown as { WebAssembly?: WasmNamespace }).WebAssembly;
  if (wasm === undefined) return;
  const { Memory, Module, Instance } = wasm;
  const compile = wasm.compile.bind(wasm);
  const instantiate = wasm.instantiate.bind(wasm);
  const grow = Memory.prototype.grow;
  const define = (name: string, value: unknown): void => {
    Object.defineProperty(wasm, name, { value, writable: true, configurable: true, enumerable: false });
  };

  const GuardedModule = wrapConstructor(Module, (args) => {
    const module = new Module(...args);
    tracked.defined.set(module, definedMemories(args[0]));
    return module;
  });
  Object.defineProperty(GuardedModule, 'exports', {
    value: Module.exports,
    writable: true,
    configurable: true,
  });
  for (const key of ['imports', 'customSections'])
    Object.defineProperty(GuardedModule, key, {
      value: (Module as unknown as Record<string, unknown>)[key],
      writable: true,
      configurable: true,
    });
  define('Module', GuardedModule);
  define(
    'Memory',
    wrapConstructor(Memory, (args) => {
      const memory = new Memory(...args) as WasmMemory;
      track(memory, 'WebAssembly.Memory');
      return memory;
    }),
  );
  define(
    'Instance',
    wrapConstructor(Instance, (args) => {
      checkExported(wasm, args[0] as object);
      const instance = new Instance(...args);
      trackExports(instance, Memory);
      return instance;
    }),
  );
  Object.defineProperty(Memory.prototype, 'grow', {
    value: function (this: WasmMemory, delta: unknown): number {
      const pages = Number(delta);
      if (pages > 0 && wasmBytes() + pages * WASM_PAGE_BYTES > tracked.limitBytes)
        throw overLimit('WebAssembly.Memory.grow()');
      return grow.call(this, pages);
    },
    writable: true,
    configurable: true,
  });
  // Used by `instantiate` too: user code may replace the global `WebAssembly.compile`.
  const guardedCompile = async (bytes: unknown): Promise<object> => {
    const defined = definedMemories(bytes);
    const module = await compile(bytes);
    tracked.defined.set(module, defined);
    return module;
  };
  define('compile', guardedCompile);
  define('instantiate', async (source: unknown, imports?: unknown): Promise<unknown> => {
    if (source instanceof Module) {
      checkExported(wasm, source);
      const instance = await instantiate(source, imports);
      trackExports(instance as object, Memory);
      return instance;
    }
    const module = await guardedCompile(source);
    checkExported(wasm, module);
    const instance = await instantiate(module, imports);
    trackExports(instance as object, Memory);
    return { module, instance };
  });
}
