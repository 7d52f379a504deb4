/**
 * Memory isolated-vm's `memoryLimit` does not stop by itself counts against the function's limit
 * (issue 11 item 2; RELIABILITY case 22): WebAssembly memories (grown from JS or by the module's own
 * `memory.grow`), and ArrayBuffers past the limit. The call fails with PROCYON_MEMORY_LIMIT, the
 * isolate is disposed (its memory with it), and a new proc serves the next call. Real isolates from
 * the built prelude (run after `npm run build`, with `node --no-node-snapshot`).
 */
import ivm from 'isolated-vm';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InvokeOutput } from '../types.js';
import { exitWithoutTeardown } from './exit.js';
import type { MemoryKillReason } from './memory-watch.js';
import { IsolateProc, type ProcHooks } from './proc.js';
import type { LoadSpec } from './protocol.js';

exitWithoutTeardown();

const PRELUDE_PATH = fileURLToPath(new URL('../../../runtime/prelude.js', import.meta.url));
const snapshot = ivm.Isolate.createSnapshot([
  { code: readFileSync(PRELUDE_PATH, 'utf8'), filename: 'procyon:prelude.js' },
]);
const MB = 2 ** 20;

/**
 * (module (memory (export "mem") 1) (func (export "grow") (param i32) (result i32)
 *   local.get 0 memory.grow)), and the same module without the memory export.
 */
const WASM = `new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,
  7,14,2,3,109,101,109,2,0,4,103,114,111,119,0,0,10,8,1,6,0,32,0,64,0,11])`;
const WASM_HIDDEN = `new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,
  7,8,1,4,103,114,111,119,0,0,10,8,1,6,0,32,0,64,0,11])`;

const CODE = `
const WASM = ${WASM};
const WASM_HIDDEN = ${WASM_HIDDEN};
const touch = (buffer) => { const u = new Uint8Array(buffer); for (let i = 0; i < u.length; i += 4096) u[i] = 1; };
export default { async fetch(request) {
  const path = new URL(request.url).pathname;
  if (path === '/js-grow') {
    const memory = new WebAssembly.Memory({ initial: 1 });
    try { memory.grow(16_383); } catch (err) { console.log('caught: ' + err.message); }
    return new Response('still here with ' + memory.buffer.byteLength);
  }
  if (path === '/wasm-grow') {
    const { instance } = await WebAssembly.instantiate(WASM);
    instance.exports.grow(4_095); // to 256 MiB, past the 128 MB limit
    touch(instance.exports.mem.buffer);
    globalThis.kept = instance;
    return new Response('grew');
  }
  if (path === '/wasm-grow-then-wait') {
    const { instance } = await WebAssembly.instantiate(WASM);
    instance.exports.grow(4_095);
    globalThis.kept = instance;
    await new Promise(() => {}); // only the call's timeout would end this
    return new Response('never');
  }
  if (path === '/hidden') {
    await WebAssembly.instantiate(WASM_HIDDEN);
    return new Response('instantiated');
  }
  if (path === '/buffers') {
    const held = [];
    for (let i = 0; i < 10; i++) held.push(new ArrayBuffer(50 * 2 ** 20));
    return new Response('held ' + held.length);
  }
  if (path === '/both') {
    const { instance } = await WebAssembly.instantiate(WASM);
    instance.exports.grow(1_279); // 80 MiB of wasm: under the limit alone
    globalThis.kept = [instance, new ArrayBuffer(80 * 2 ** 20)]; // 80 MiB of ArrayBuffer: the same
    return new Response('both');
  }
  return new Response('ok');
} };`;

function load(memoryMb: number): LoadSpec {
  return {
    key: 'ns/fn@v1',
    namespace: 'ns',
    fn: 'fn',
    version: 'v1',
    code: CODE,
    memoryMb,
    vars: {},
    secrets: {},
    bindings: { kv: [], services: [] },
    egress: { allow: [] },
    scaling: {},
  };
}

/** Runs `path` on a new proc of a function with `memoryMb`; then `/ok` on a fresh proc. */
async function run(
  path: string,
  memoryMb = 128,
  timeoutMs = 30_000,
): Promise<{
  out: InvokeOutput;
  proc: IsolateProc;
  held: { totalBytes: number; externalBytes: number };
  kills: MemoryKillReason[];
  next: InvokeOutput;
}> {
  const kills: MemoryKillReason[] = [];
  const hooks: ProcHooks = {
    egress: { deny: [], timeoutMs: 5_000, maxResponseBytes: MB },
    rpc: async () => null,
    memoryKill: (reason) => void kills.push(reason),
  };
  const call = async (proc: IsolateProc, p: string): Promise<InvokeOutput> => {
    const input = {
      type: 'fetch' as const,
      request: { method: 'GET', url: `https://fn.example${p}`, headers: [], body: null },
    };
    const spec = { activationId: 'a', timeoutMs, logLimitBytes: 64 * 1024, maxResponseBytes: MB };
    const { out, tail } = await proc.call(input, spec, false, hooks, 'ns/fn@v1');
    if (tail) await tail.finish();
    return out;
  };
  const proc = await IsolateProc.create(snapshot, load(memoryMb), 64 * 1024);
  const out = await call(proc, path);
  const held = proc.memory();
  const fresh = await IsolateProc.create(snapshot, load(memoryMb), 64 * 1024);
  try {
    return { out, proc, held, kills, next: await call(fresh, '/ok') };
  } finally {
    proc.dispose();
    fresh.dispose();
  }
}

function assertMemoryLimit(r: Awaited<ReturnType<typeof run>>, reason: MemoryKillReason): void {
  assert.equal(r.out.ok ? 'ok' : r.out.error.code, 'PROCYON_MEMORY_LIMIT');
  assert.equal(r.proc.disposed, true, 'the isolate is disposed');
  assert.deepEqual(r.held, { totalBytes: 0, externalBytes: 0 }, 'its memory is returned');
  assert.deepEqual(r.kills, [reason]);
  assert.equal(r.next.ok, true, 'the next call succeeds');
}

describe('memory past the limit that V8 does not stop', () => {
  test('WebAssembly.Memory grown from JS past the limit: refused, and the call fails even if it caught that', async () => {
    const r = await run('/js-grow');
    assertMemoryLimit(r, 'wasm');
    assert.match(r.out.logs.map((l) => l.msg).join('\n'), /caught: .*memory limit/);
  });

  test("a wasm module's own memory.grow to 256 MiB in a 128 MB function", async () => {
    assertMemoryLimit(await run('/wasm-grow'), 'wasm');
  });

  test('read while the call runs: a call that grew wasm memory and then waits forever is stopped', async () => {
    // Without the reading during the call, only its timeout would end it (PROCYON_TIMEOUT).
    assertMemoryLimit(await run('/wasm-grow-then-wait', 128, 10_000), 'wasm');
  });

  test('ArrayBuffers past the limit: PROCYON_MEMORY_LIMIT, not a function error', async () => {
    assertMemoryLimit(await run('/buffers'), 'external');
  });

  test('wasm memory and ArrayBuffers each under the limit, together past it', async () => {
    assertMemoryLimit(await run('/both'), 'wasm');
  });

  test('a module that does not export its memory is refused (its growth could not be seen)', async () => {
    const r = await run('/hidden');
    assert.equal(r.out.ok ? 'ok' : r.out.error.code, 'PROCYON_FUNCTION_ERROR');
    assert.match(r.out.ok ? '' : r.out.error.message, /must export the memory it defines/);
  });

  test('within the limit, wasm memory is allowed and counted in the proc memory', async () => {
    const r = await run('/both', 512);
    assert.equal(r.out.ok, true);
    assert.deepEqual(r.kills, []);
    assert.ok(r.held.externalBytes >= 160 * MB, `${r.held.externalBytes} bytes of wasm and ArrayBuffer`);
  });
});
