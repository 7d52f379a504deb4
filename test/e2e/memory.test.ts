/**
 * WebAssembly memory against the function's memory limit, end to end (issue 11 item 2; RELIABILITY
 * case 22): three functions with `--memory 128` that each grow a wasm memory to 1 GiB fail with
 * PROCYON_MEMORY_LIMIT instead of holding 3 GiB in one host; `/metrics` shows the external memory
 * a host's procs hold, which falls back once a proc is disposed, and counts the kills by reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { json, startTestNode, type TestNode } from './node.js';

/** (module (memory (export "mem") 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)) */
const WASM = `new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,
  7,14,2,3,109,101,109,2,0,4,103,114,111,119,0,0,10,8,1,6,0,32,0,64,0,11])`;

const code = `
const WASM = ${WASM};
export default { async fetch(request) {
  const pages = Number(new URL(request.url).searchParams.get('pages') ?? 0);
  if (pages > 0) {
    const { instance } = await WebAssembly.instantiate(WASM);
    instance.exports.grow(pages - 1);
    // Touch up to 64 MiB: the limit counts what the memory holds (its byteLength), touched or not,
    // and faulting in a whole GiB takes seconds on a loaded machine.
    const bytes = new Uint8Array(instance.exports.mem.buffer);
    for (let i = 0; i < Math.min(bytes.length, 64 * 2 ** 20); i += 4096) bytes[i] = 1;
    (globalThis.kept ??= []).push(instance);
  }
  return new Response('holding ' + pages + ' pages');
} };`;

/** 64 KiB wasm pages. */
const MIB_64 = 1_024;
const GIB_1 = 16_384;

describe('WebAssembly memory counts against the memory limit', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ isolateHosts: 1 });
    for (const name of ['wasm1', 'wasm2', 'wasm3']) {
      const res = await t.deploy(name, code, { memory: 128, timeout: 60_000, scaling: { maxInstances: 1 } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => t.stop());

  const call = (name: string, pages = 0) => fetch(`${t.url}/fn/default/${name}?pages=${pages}`);
  /** A metric's value from /metrics (the first series matching `series`, or 0). */
  const metric = async (series: string): Promise<number> => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const external = () => metric('procyon_isolate_host_external_memory_bytes{host="0"}');

  it('memory within the limit is allowed, and shows as the host external memory', async () => {
    const res = await call('wasm1', MIB_64);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `holding ${MIB_64} pages`);
    await waitFor(async () => (await external()) >= 64 * 2 ** 20, { what: 'the 64 MiB in /metrics' });
  });

  it('three functions growing to 1 GiB each fail with PROCYON_MEMORY_LIMIT; the memory is returned', async () => {
    for (const name of ['wasm1', 'wasm2', 'wasm3']) {
      const res = await call(name, GIB_1);
      assert.equal(res.status, 500, name);
      assert.equal((await json(res)).error.code, 'PROCYON_MEMORY_LIMIT', name);
    }
    // wasm1's proc held 64 MiB before it was disposed: nothing is left in the host.
    await waitFor(async () => (await external()) < 8 * 2 ** 20, { what: 'external memory back down' });
    // Hosts report kills with their memory, every few seconds.
    await waitFor(async () => (await metric('procyon_memory_limit_kills_total{reason="wasm"}')) === 3, {
      what: 'three wasm kills in /metrics',
    });
    for (const name of ['wasm1', 'wasm2', 'wasm3']) {
      const next = await call(name);
      assert.equal(next.status, 200, `${name}: the next call succeeds`);
      assert.equal(await next.text(), 'holding 0 pages');
    }
  });
});
