/**
 * Process classes in a real isolate, with the node's storage faked in the test (what the bridge
 * sees, proc-node.ts): writes coalesce into one `storage.write`, reads are cached, events never interleave
 * except at out-calls, and a reply waits for the writes before it (docs/processes.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DispatchResult } from './harness.js';
import { withProc } from './harness.js';
import { fakeNode } from './proc-node.js';
import { waitFor } from '../wait.js';

const message = (m: unknown) => ({
  type: 'message' as const,
  from: { type: 'api' as const },
  message: m,
  reply: true,
});
const value = (r: DispatchResult): unknown => (r.ok && r.result.type === 'event' ? r.result.value : r);

const CLASS = `
export class P {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; this.log = []; }
  async onMessage(from, m) {
    const s = this.ctx.storage;
    if (m === 'three') { s.put('a', 1); s.put('b', 2); s.put('c', 3); return 'done'; }
    if (m === 'read') return [await s.get('a'), await s.get('a'), await s.get('zz')];
    // Between the read and the write, a read the node must answer: the isolate yields there.
    if (m.slow) { this.log.push('start ' + m.slow); const n = (await s.get('n')) ?? 0; await s.get('miss' + m.slow); await s.put('n', n + 1); this.log.push('end ' + m.slow); return n + 1; }
    if (m.out) { this.log.push('out ' + m.out); const r = await this.env.procs.get('Q', 'x').call(m.out); this.log.push('back ' + m.out); return r; }
    if (m === 'log') return this.log;
    return null;
  }
}`;

describe('process classes in the isolate', () => {
  it('binds the class and refuses a module without it', async () => {
    await withProc(CLASS, async (proc) => assert.equal(proc.style, 'process'), {
      process: { className: 'P' },
    });
    await assert.rejects(
      withProc('export const x = 1;', async () => undefined, { process: { className: 'P' } }),
      /export the process class P/,
    );
  });

  it('sends three un-awaited puts as one write, before the reply; reads are served from the cache', async () => {
    const node = fakeNode();
    await withProc(
      CLASS,
      async (proc) => {
        assert.equal(value(await proc.dispatch(message('three'))), 'done');
        assert.deepEqual(node.ops, ['storage.write'], 'one batch, sent before the reply left');
        assert.deepEqual(
          [...node.data],
          [
            ['a', 1],
            ['b', 2],
            ['c', 3],
          ],
        );
        assert.deepEqual(value(await proc.dispatch(message('read'))), [1, 1, undefined]);
        assert.deepEqual(node.ops, ['storage.write', 'storage.get'], 'only the unknown key went to the node');
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('runs overlapping events one at a time, whole', async () => {
    const node = fakeNode();
    await withProc(
      CLASS,
      async (proc) => {
        const results = await Promise.all([1, 2, 3].map((n) => proc.dispatch(message({ slow: n }))));
        assert.deepEqual(results.map(value), [1, 2, 3], 'no lost update');
        assert.deepEqual(value(await proc.dispatch(message('log'))), [
          'start 1',
          'end 1',
          'start 2',
          'end 2',
          'start 3',
          'end 3',
        ]);
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('lets the next event run while one waits on a call to another process', async () => {
    const node = fakeNode();
    node.procs = (_op, args) => ({ echoed: args[2] });
    await withProc(
      CLASS,
      async (proc) => {
        const [out, slow] = await Promise.all([
          proc.dispatch(message({ out: 'q' })),
          proc.dispatch(message({ slow: 9 })),
        ]);
        assert.deepEqual(value(out), { echoed: 'q' });
        assert.equal(value(slow), 1);
        const log = value(await proc.dispatch(message('log'))) as string[];
        assert.equal(log[0], 'out q');
        assert.ok(log.indexOf('start 9') < log.indexOf('back q'), log.join(', '));
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('refuses an export that is not a class with fetch, onMessage or alarm', async () => {
    for (const code of ['export const P = 1;', 'export class P { other() {} }']) {
      await assert.rejects(
        withProc(code, async () => undefined, { process: { className: 'P' } }),
        /P must have a fetch, onMessage or alarm method|export the process class P/,
      );
    }
  });

  it('constructs the instance on its first event, once; a constructor that throws fails that event only', async () => {
    const code = `
      let made = 0;
      export class P {
        constructor(ctx) { made++; if (made === 1) throw new Error('not yet'); this.id = String(ctx.id); }
        onMessage() { return { made, id: this.id }; }
      }`;
    await withProc(
      code,
      async (proc) => {
        const first = await proc.dispatch(message('x'));
        assert.equal(first.ok, false);
        assert.match(!first.ok ? first.error.message : '', /not yet/);
        assert.deepEqual(value(await proc.dispatch(message('x'))), { made: 2, id: 'alice' });
        assert.deepEqual(value(await proc.dispatch(message('x'))), { made: 2, id: 'alice' });
      },
      { process: { className: 'P', instance: 'alice' }, host: fakeNode().host },
    );
  });

  it('runs fetch, message (with and without a reply) and alarm events', async () => {
    const code = `
      export class P {
        constructor(ctx) { this.ctx = ctx; }
        async fetch(request) { return new Response(this.ctx.id.name + ' ' + request.method + ' ' + (await request.text()), { status: 201 }); }
        onMessage(from, m) { return { from, m }; }
        async alarm(info) { await this.ctx.storage.put('alarmed', info.retryCount); }
      }`;
    const node = fakeNode();
    await withProc(
      code,
      async (proc) => {
        const res = await proc.fetch({ method: 'POST', body: 'hi' });
        assert.ok(res.ok && res.result.type === 'fetch');
        assert.equal(res.result.response.status, 201);
        assert.equal(new TextDecoder().decode(res.result.response.body ?? undefined), 'bob POST hi');
        assert.deepEqual(value(await proc.dispatch(message(7))), { from: { type: 'api' }, m: 7 });
        assert.equal(value(await proc.dispatch({ ...message(7), reply: false })), null);
        assert.equal(value(await proc.dispatch({ type: 'alarm', retryCount: 3 })), null);
        assert.equal(node.data.get('alarmed'), 3);
      },
      { process: { className: 'P', instance: 'bob' }, host: node.host },
    );
  });

  it('fails an event for a missing method (keeping the instance) and drops the instance after a throw', async () => {
    const code = `
      let made = 0;
      export class P {
        constructor() { made++; }
        onMessage(from, m) { if (m === 'throw') throw new RangeError('broken'); return made; }
      }`;
    await withProc(
      code,
      async (proc) => {
        assert.equal(value(await proc.dispatch(message('x'))), 1);
        const missing = await proc.fetch();
        assert.ok(!missing.ok);
        assert.equal(missing.error.code, 'PROCYON_FUNCTION_ERROR');
        assert.match(missing.error.message, /the process class P has no fetch\(\) method/);
        assert.equal(value(await proc.dispatch(message('x'))), 1, 'a missing method breaks nothing');
        const thrown = await proc.dispatch(message('throw'));
        assert.ok(!thrown.ok);
        assert.match(thrown.error.message, /RangeError: broken/);
        assert.equal(value(await proc.dispatch(message('x'))), 2, 'a new instance after the throw');
      },
      { process: { className: 'P', instance: 'i' }, host: fakeNode().host },
    );
  });

  it('holds a response until a write it did not await is durable', async () => {
    const code = `
      export class P {
        constructor(ctx) { this.ctx = ctx; }
        fetch() { this.ctx.storage.put('k', 1); return new Response('ok'); }
      }`;
    const node = fakeNode();
    node.hold('storage.write');
    await withProc(
      code,
      async (proc) => {
        let settled = false;
        const pending = proc.fetch().then((r) => ((settled = true), r));
        await waitFor(() => node.ops.length > 0, { what: 'the write to be asked for' });
        assert.deepEqual(node.ops, ['storage.write']);
        assert.equal(settled, false, 'the response waits for the write');
        node.release('storage.write');
        const res = await pending;
        assert.ok(res.ok);
        assert.equal(node.data.get('k'), 1);
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('does not start an event while another awaits storage', async () => {
    const code = `
      export class P {
        constructor(ctx) { this.ctx = ctx; }
        async onMessage(from, m) { return [m, await this.ctx.storage.get(m)]; }
      }`;
    const node = fakeNode();
    node.hold('storage.get');
    await withProc(
      code,
      async (proc) => {
        const both = [proc.dispatch(message('a')), proc.dispatch(message('b'))];
        await waitFor(() => node.calls.length > 0, { what: "a's read" });
        await new Promise((go) => setTimeout(go, 20)); // a chance for b to start, which it must not
        assert.deepEqual(node.calls, [{ op: 'storage.get', args: [['a']] }], 'b has not started');
        node.release('storage.get');
        assert.deepEqual((await Promise.all(both)).map(value), [
          ['a', undefined],
          ['b', undefined],
        ]);
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('sends stub calls on the wire after earlier writes, and surfaces node error codes', async () => {
    const code = `
      export class P {
        constructor(ctx, env) { this.ctx = ctx; this.env = env; }
        async onMessage(from, m) {
          const stub = this.env.procs.get('Q', 'q1');
          this.ctx.storage.put('before', 1);
          const reply = await stub.call({ n: 1 });
          await stub.send('one-way');
          const res = await stub.fetch('https://q.example/path', { method: 'PUT', body: 'b' });
          let code = null;
          try { await stub.call('full'); } catch (e) { code = e.code; }
          return { reply, status: res.status, text: await res.text(), code };
        }
      }`;
    const node = fakeNode();
    node.procs = (op, args) => {
      if (op === 'procs.call' && args[2] === 'full')
        throw Object.assign(new Error('mailbox full'), { code: 'PROCYON_MAILBOX_FULL' });
      if (op === 'procs.fetch')
        return { status: 202, headers: [], body: new TextEncoder().encode('fetched') };
      return op === 'procs.send' ? null : { got: args };
    };
    await withProc(
      code,
      async (proc) => {
        assert.deepEqual(value(await proc.dispatch(message('go'))), {
          reply: { got: ['Q', 'q1', { n: 1 }] },
          status: 202,
          text: 'fetched',
          code: 'PROCYON_MAILBOX_FULL',
        });
        assert.deepEqual(node.ops.slice(0, 2), ['storage.write', 'procs.call'], 'the write went first');
        const fetched = node.calls.find((c) => c.op === 'procs.fetch');
        const wire = fetched?.args[2] as { method: string; url: string; body: Uint8Array };
        assert.deepEqual(fetched?.args.slice(0, 2), ['Q', 'q1']);
        assert.equal(wire.method, 'PUT');
        assert.equal(wire.url, 'https://q.example/path');
        assert.equal(new TextDecoder().decode(wire.body), 'b');
        assert.deepEqual(node.calls.find((c) => c.op === 'procs.send')?.args, ['Q', 'q1', 'one-way']);
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('keeps ctx.waitUntil work with the event', async () => {
    const node = fakeNode();
    const code = `
      export class P {
        constructor(ctx) { this.ctx = ctx; }
        onMessage() { this.ctx.waitUntil(this.ctx.storage.getAlarm()); return 'ok'; }
      }`;
    await withProc(
      code,
      async (proc) => {
        node.hold('alarm.get');
        const res = await proc.dispatch(message('x'));
        assert.ok(res.ok);
        assert.equal(res.waitUntil, true);
        node.release('alarm.get');
        assert.deepEqual(await proc.settle(1_000), { pending: 0 });
        proc.end();
      },
      { process: { className: 'P', instance: 'i' }, host: node.host },
    );
  });

  it('gives every function env.procs, also on the shared env of a function without bindings', async () => {
    const code = `export default { fetch(request, env) {
      return new Response(typeof env.procs.get('C', 'n').call + ' ' + Object.keys(env).join(',') + ' ' + Object.isFrozen(env));
    } };`;
    await withProc(
      code,
      async (proc) => {
        const res = await proc.fetch();
        assert.ok(res.ok && res.result.type === 'fetch');
        assert.equal(new TextDecoder().decode(res.result.response.body ?? undefined), 'function A true');
      },
      { vars: { A: 'x' } },
    );
  });
});
