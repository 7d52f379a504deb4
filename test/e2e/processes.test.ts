/**
 * Stateful processes end to end on a real node (issue 6): storage semantics, the guarantees
 * (one instance, input and output gates, crash and timeout recovery), the mailbox bound, message
 * order, direct messages between processes and from functions, records, and bad input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { json, startTestNode, type TestNode } from './node.js';

/** A test class: each `op` of a JSON message exercises one part of ctx.storage. */
const STORE = `
export class Store {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; this.seen = []; this.made = Date.now(); }
  async onMessage(from, m) {
    const s = this.ctx.storage;
    switch (m.op) {
      case 'put': await s.put(m.key, m.value); return null;
      case 'putMany': await s.put(m.entries); return null;
      case 'get': return (await s.get(m.key)) ?? null;
      case 'getMany': return [...(await s.get(m.keys))];
      case 'delete': return s.delete(m.key);
      case 'deleteMany': return s.delete(m.keys);
      case 'deleteAll': await s.deleteAll(); return null;
      case 'list': return [...(await s.list(m.options))].map(([k]) => k);
      case 'txn': return s.transaction(async (t) => {
          await t.put('a', (await t.get('a') ?? 0) + 1);
          await t.put('b', 'in txn');
          const seen = [...(await t.list({ prefix: '' }))].map(([k]) => k);
          if (m.mode === 'throw') throw new Error('txn failed on purpose');
          if (m.mode === 'rollback') t.rollback();
          return seen;
        });
      case 'txnorder': {
        await s.put('\u{FFFD}', 1);
        return s.transaction(async (t) => { await t.put('😀', 2); await t.put('a', 3); return [...(await t.list())].map(([k]) => k); });
      }
      case 'types': {
        const value = { when: new Date(5), map: new Map([[1, 'one']]), set: new Set([2]), bytes: new Uint8Array([1, 2, 3]), big: 10n };
        await s.put('types', value);
        value.map.set(9, 'changed after put');
        const back = await s.get('types');
        return [back.when instanceof Date, back.map.get(1), back.map.has(9), back.set.has(2), back.bytes[2], typeof back.big];
      }
      case 'fail': try { await s.put(m.key, m.value); return 'stored'; } catch (e) { return (e.code ?? e.name) + ': ' + e.message; }
      case 'unwatched': s.put('big', 'x'.repeat(200000)); return 'claimed success';
      case 'clone': try { await s.put('f', () => 1); return 'stored'; } catch (e) { return e.name; }
      case 'record': this.seen.push(m.n); return null;
      case 'seen': return this.seen;
      case 'made': return this.made;
      case 'throw': await s.put('before-throw', true); throw new Error('boom');
      case 'loop': await s.put('before-loop', true); for (;;) {}
      case 'slow': await new Promise((r) => setTimeout(r, m.ms)); return null;
      case 'from': return from;
      case 'alarm': await s.setAlarm(Date.now() + m.in); return s.getAlarm();
      case 'alarms': return (await s.get('alarms')) ?? [];
      case 'call': return this.env.procs.get(m.class, m.name).call(m.message);
      case 'bigcall': try { await this.env.procs.get('Store', 'x').send('x'.repeat(7e6)); return 'sent'; } catch (e) { return e.code; }
      default: throw new Error('unknown op ' + m.op);
    }
  }
  async alarm(info) {
    const fired = (await this.ctx.storage.get('alarms')) ?? [];
    fired.push(info.retryCount);
    await this.ctx.storage.put('alarms', fired);
    if ((await this.ctx.storage.get('failAlarms')) && info.retryCount < 2) throw new Error('alarm fails');
  }
  async fetch(request) {
    const url = new URL(request.url);
    // Read, then write after a non-storage await: the input gate keeps events from interleaving.
    const n = (await this.ctx.storage.get('n')) ?? 0;
    await new Promise((r) => setTimeout(r, 2));
    await this.ctx.storage.put('n', n + 1);
    return new Response(String(n + 1), { headers: { 'x-path': url.pathname } });
  }
}`;

/** A function that reaches processes through env.procs. */
const CALLER = `
export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get('name');
    const reply = await env.procs.get('Store', name).call({ op: 'from' });
    const res = await env.procs.get('Store', name).fetch('http://proc/x');
    return Response.json({ reply, count: await res.text() });
  },
};`;

describe('stateful processes', () => {
  let t: TestNode;
  const call = async (name: string, message: unknown, cls = 'Store') =>
    t.api('POST', `/api/v1/namespaces/default/procs/${cls}/${name}/call`, { message });
  const reply = async (name: string, message: unknown) => {
    const r = await call(name, message);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.reply;
  };

  before(async () => {
    t = await startTestNode({ procMailbox: 20 });
    // 3 s: short for the stuck-loop test, long enough that a busy machine does not time out others.
    const d = await t.deploy('Store', STORE, { process: { className: 'Store' }, timeout: 3000 });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    assert.equal((await t.deploy('caller', CALLER)).status, 201);
  });
  after(async () => t.stop());

  it('stores structured-clone values; get/put/delete/list/deleteAll behave as documented', async () => {
    await reply('s1', { op: 'put', key: 'k', value: { a: [1, 2] } });
    assert.deepEqual(await reply('s1', { op: 'get', key: 'k' }), { a: [1, 2] });
    assert.deepEqual(await reply('s1', { op: 'types' }), [true, 'one', false, true, 3, 'bigint']);
    await reply('s1', { op: 'putMany', entries: { 'p:1': 1, 'p:2': 2, 'p:3': 3, q: 4 } });
    assert.deepEqual(await reply('s1', { op: 'getMany', keys: ['p:1', 'nope', 'q'] }), [
      ['p:1', 1],
      ['q', 4],
    ]);
    assert.deepEqual(await reply('s1', { op: 'list', options: { prefix: 'p:' } }), ['p:1', 'p:2', 'p:3']);
    assert.deepEqual(await reply('s1', { op: 'list', options: { prefix: 'p:', reverse: true, limit: 2 } }), [
      'p:3',
      'p:2',
    ]);
    assert.deepEqual(await reply('s1', { op: 'list', options: { start: 'p:2', end: 'q' } }), ['p:2', 'p:3']);
    assert.equal(await reply('s1', { op: 'delete', key: 'p:1' }), true);
    assert.equal(await reply('s1', { op: 'delete', key: 'p:1' }), false);
    assert.equal(await reply('s1', { op: 'deleteMany', keys: ['p:2', 'p:3', 'zz'] }), 2);
    await reply('s1', { op: 'deleteAll' });
    assert.deepEqual(await reply('s1', { op: 'list', options: {} }), []);
    // Storage is the node's, not the isolate's: it survives a swap-out.
    await reply('s1', { op: 'put', key: 'kept', value: 'yes' });
    const evicted = await t.api('POST', '/api/v1/namespaces/default/procs/Store/s1/evict');
    assert.equal(evicted.body.evicted, true);
    assert.equal(await reply('s1', { op: 'get', key: 'kept' }), 'yes');
  });

  it('transactions commit together, and roll back on throw or rollback()', async () => {
    assert.deepEqual(await reply('tx', { op: 'txn' }), ['a', 'b']);
    assert.equal(await reply('tx', { op: 'get', key: 'a' }), 1);
    const failed = await call('tx', { op: 'txn', mode: 'throw' });
    assert.equal(failed.status, 500);
    assert.match(failed.body.error.message, /txn failed on purpose/);
    // A transaction lists its own writes with the stored keys in the node's order (UTF-8 bytes).
    assert.deepEqual(await reply('order2', { op: 'txnorder' }), ['a', '\u{FFFD}', '😀']);
    assert.deepEqual(await reply('order2', { op: 'list', options: {} }), ['a', '\u{FFFD}', '😀']);
    await reply('tx', { op: 'txn', mode: 'rollback' });
    assert.equal(
      await reply('tx', { op: 'get', key: 'a' }),
      1,
      'neither the thrown nor the rolled-back txn wrote',
    );
  });

  it('refuses bad values and keys with clear errors', async () => {
    assert.match(
      await reply('lim', { op: 'fail', key: 'big', value: 'x'.repeat(200_000) }),
      /^PROCYON_STORAGE_LIMIT: /,
    );
    assert.match(await reply('lim', { op: 'fail', key: 'k'.repeat(3000), value: 1 }), /^RangeError: .*2048/);
    assert.equal(await reply('lim', { op: 'clone' }), 'DataCloneError');
    assert.equal(await reply('lim', { op: 'get', key: 'big' }), null, 'a refused write is not stored');
    // Output gate: a reply never leaves claiming success while a write it did not wait for fails.
    const unwatched = await call('lim', { op: 'unwatched' });
    assert.equal(unwatched.status, 500);
    assert.match(unwatched.body.error.message, /over the limit/);
  });

  it('runs events one at a time: concurrent read-modify-write loses nothing, on one instance', async () => {
    const results = await Promise.all(
      Array.from({ length: 15 }, () => fetch(`${t.url}/p/default/Store/gate/x`).then((r) => r.text())),
    );
    assert.deepEqual(
      results.map(Number).sort((a, b) => a - b),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    // Counted by name: the node's total proc count also moves with other tests' recycled instances.
    const listed = await t.api('GET', '/api/v1/namespaces/default/procs?class=Store');
    const gates = listed.body.procs.filter((p: { name: string }) => p.name === 'gate');
    assert.equal(gates.length, 1, 'one instance');
  });

  it('keeps per-sender order for one-way messages', async () => {
    for (let n = 0; n < 15; n++) {
      const sent = await t.api('POST', '/api/v1/namespaces/default/procs/Store/order/send', {
        message: { op: 'record', n },
      });
      assert.equal(sent.status, 202);
    }
    assert.deepEqual(
      await reply('order', { op: 'seen' }),
      Array.from({ length: 15 }, (_, i) => i),
    );
  });

  it('discards an instance whose handler threw; committed writes stay', async () => {
    const made = await reply('crash', { op: 'made' });
    const thrown = await call('crash', { op: 'throw' });
    assert.equal(thrown.status, 500);
    assert.equal(thrown.body.error.code, 'PROCYON_FUNCTION_ERROR');
    assert.equal(await reply('crash', { op: 'get', key: 'before-throw' }), true);
    assert.notEqual(await reply('crash', { op: 'made' }), made, 'a new instance was constructed');
  });

  it('recycles an instance stuck in a loop at its timeout; its storage is intact', async () => {
    const made = await reply('loop', { op: 'made' });
    const stuck = await call('loop', { op: 'loop' });
    assert.equal(stuck.status, 504);
    assert.equal(stuck.body.error.code, 'PROCYON_TIMEOUT');
    assert.equal(await reply('loop', { op: 'get', key: 'before-loop' }), true);
    assert.notEqual(await reply('loop', { op: 'made' }), made, 'the stuck instance was replaced');
  });

  it('bounds the mailbox: a storm gets 429 PROCYON_MAILBOX_FULL and the instance keeps working', async () => {
    const storm = await Promise.all(Array.from({ length: 40 }, () => call('busy', { op: 'slow', ms: 30 })));
    const codes = storm.map((r) => r.status);
    assert.ok(codes.includes(200));
    const full = storm.find((r) => r.status === 429);
    assert.ok(full, `some were refused: ${codes.join(',')}`);
    assert.equal(full.body.error.code, 'PROCYON_MAILBOX_FULL');
    assert.equal(full.headers.get('retry-after'), '1');
    assert.equal(await reply('busy', { op: 'get', key: 'none' }), null);
  });

  it('messages between processes and from functions: from, parentId, records', async () => {
    const viaProc = await call('a', { op: 'call', class: 'Store', name: 'b', message: { op: 'from' } });
    assert.deepEqual(viaProc.body.reply, { type: 'process', class: 'Store', name: 'a' });
    const res = await fetch(`${t.url}/fn/default/caller?name=c`);
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.reply, { type: 'function', fn: 'caller' });
    assert.equal(body.count, '1');
    const parent = viaProc.headers.get('x-procyon-activation-id');
    await t.node.recorder.flush();
    const list = await t.api('GET', '/api/v1/namespaces/default/activations?fn=Store&limit=200');
    const child = list.body.activations.find((a: { parentId: string | null }) => a.parentId === parent);
    assert.ok(child, 'the callee activation points at its caller');
    assert.equal(child.instance, 'b');
    assert.equal(child.trigger, 'message');
  });

  it('fires alarms, retrying a failing one with its retry count', async () => {
    await reply('al', { op: 'put', key: 'failAlarms', value: true });
    const at = await reply('al', { op: 'alarm', in: 50 });
    assert.equal(typeof at, 'number');
    const fired = await waitFor(
      async () => {
        const now = (await reply('al', { op: 'alarms' })) as number[] | null;
        return now && now.length >= 3 ? now : undefined;
      },
      { what: 'three alarm deliveries', intervalMs: 100 },
    );
    assert.deepEqual(fired, [0, 1, 2]);
    const info = await t.api('GET', '/api/v1/namespaces/default/procs/Store/al');
    assert.equal(info.body.alarmAt, null, 'a delivered alarm is gone');
  });

  it('lists instances with state, storage and memory; deletes them with their storage', async () => {
    const listed = await t.api('GET', '/api/v1/namespaces/default/procs?class=Store');
    const s1 = listed.body.procs.find((p: { name: string }) => p.name === 's1');
    assert.equal(s1.state, 'active');
    assert.ok(s1.storageBytes > 0 && s1.memoryBytes >= 0);
    assert.equal((await t.api('DELETE', '/api/v1/namespaces/default/procs/Store/s1')).status, 200);
    assert.equal((await t.api('GET', '/api/v1/namespaces/default/procs/Store/s1')).status, 404);
    assert.equal(await reply('s1', { op: 'get', key: 'kept' }), null, 'its storage went with it');
  });

  it('refuses bad names, unknown classes, functions as processes and processes as functions', async () => {
    const long = 'x'.repeat(129);
    for (const path of [
      `/p/default/Store/${long}`,
      '/p/default/Store/a%2Fb',
      '/p/default/bad-class/x',
      '/p/default/Store',
    ]) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal((await json(res)).error.code.startsWith('PROCYON_'), true);
    }
    assert.equal((await fetch(`${t.url}/p/default/Nope/x`)).status, 404);
    // A malformed %-escape is refused before routing, still in the platform's error shape.
    const badEscape = await fetch(`${t.url}/p/default/Store/%E0%A4`);
    assert.equal(badEscape.status, 400);
    assert.equal((await json(badEscape)).error.code, 'PROCYON_BAD_REQUEST');
    assert.equal((await fetch(`${t.url}/p/default/caller/x`)).status, 400);
    assert.equal((await fetch(`${t.url}/fn/default/Store`)).status, 400);
    assert.equal((await call('x', 'not an object')).status, 500, 'the class decides what a message means');
    // Building and copying a 7 MB message takes seconds on a loaded machine: a class of its own
    // with room for that, so the Store's short timeout stays short.
    const roomy = await t.deploy('Roomy', STORE, { process: { className: 'Store' }, timeout: 30_000 });
    assert.equal(roomy.status, 201, JSON.stringify(roomy.body));
    const big = await call('big', { op: 'bigcall' }, 'Roomy');
    assert.equal(big.status, 200, JSON.stringify(big.body));
    assert.equal(big.body.reply, 'PROCYON_PAYLOAD_TOO_LARGE');
    const noClass = await t.deploy('Missing', STORE, { process: { className: 'Missing' } });
    assert.equal(noClass.status, 400);
    assert.match(noClass.body.error.message, /export the process class Missing/);
    const routes = await t.deploy('Routed', STORE, { process: { className: 'Store' }, routes: ['/x'] });
    assert.equal(routes.status, 400);
  });
});

/** Two instances of one class talk to each other; each records what reached it. */
const PING = `
export class Ping {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; this.got = []; }
  async onMessage(from, m) {
    const peer = (name) => this.env.procs.get('Ping', name);
    switch (m.op) {
      case 'start': return peer(m.peer).call({ op: 'bounce', back: this.ctx.id.name });
      case 'bounce': {
        // B calls back into A while A waits for B, then sends to it: neither may deadlock.
        const echoed = await peer(m.back).call({ op: 'echo' });
        await peer(m.back).send({ op: 'record', n: 'sent back' });
        return { echoed, by: this.ctx.id.name };
      }
      case 'echo': return 'echo from ' + this.ctx.id.name;
      case 'record': this.got.push(m.n); return null;
      case 'got': return this.got;
    }
    return null;
  }
  async fetch() {
    const n = ((await this.ctx.storage.get('n')) ?? 0) + 1;
    await this.ctx.storage.put('n', n);
    return new Response(String(n));
  }
}`;

describe('stateful processes through the node’s process manager', () => {
  let t: TestNode;
  const at = (name: string) => ({ namespace: 'default', className: 'Ping', name });
  const api = { from: { type: 'api' as const } };

  before(async () => {
    t = await startTestNode();
    const d = await t.deploy('Ping', PING, { process: { className: 'Ping' } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
  });
  after(async () => t.stop());

  it('counts through fetch and call on one proc, however many first calls race', async () => {
    const procsBefore = t.node.driver.scheduler.stats().procs;
    const get = { method: 'GET', url: 'http://p/', headers: [] as [string, string][], body: Buffer.alloc(0) };
    const counts = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const r = await t.node.procs.fetch(at('counter'), get, api);
        return Number(Buffer.from(r.response.body).toString());
      }),
    );
    assert.deepEqual(
      counts.sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    assert.equal(t.node.driver.scheduler.stats().procs, procsBefore + 1, 'one proc for the instance');
    assert.deepEqual((await t.node.procs.call(at('counter'), { op: 'got' }, api)).reply, []);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /procyon_proc_swap_ins_total\{namespace="default",class="Ping"\} [1-9]/);
  });

  it('delivers 200 one-way messages from one sender in the order sent', async () => {
    await Promise.all(
      Array.from({ length: 200 }, (_, n) => t.node.procs.send(at('ordered'), { op: 'record', n }, api)),
    );
    const { reply } = await t.node.procs.call(at('ordered'), { op: 'got' }, api);
    assert.deepEqual(
      reply,
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('ping-pong: A calls B, B calls A back and sends to it; nothing deadlocks; records chain', async () => {
    const started = await t.node.procs.call(at('A'), { op: 'start', peer: 'B' }, api);
    assert.deepEqual(started.reply, { echoed: 'echo from A', by: 'B' });
    let got: unknown[] = [];
    for (let i = 0; i < 50 && got.length === 0; i++) {
      got = (await t.node.procs.call(at('A'), { op: 'got' }, api)).reply as unknown[];
      if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(got, ['sent back']);
    await t.node.recorder.flush();
    const list = await t.api('GET', '/api/v1/namespaces/default/activations?fn=Ping&limit=200');
    const acts = list.body.activations as { id: string; parentId: string | null; instance: string }[];
    const toB = acts.find((a) => a.parentId === started.activationId);
    assert.equal(toB?.instance, 'B', 'A → B points at A’s activation');
    const backToA = acts.filter((a) => a.parentId === toB?.id);
    assert.deepEqual(backToA.map((a) => a.instance).sort(), ['A', 'A'], 'B → A (call and send) point at B’s');
  });
});
