/**
 * Process instances across a node restart (issue 6, items 3 and 4): storage comes back on demand,
 * an alarm set before the stop fires after the start, and instances swapped out under memory
 * pressure keep their storage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestNode, type TestNode } from './node.js';
import { waitFor } from '../wait.js';

const NOTE = `
export class Note {
  constructor(ctx) { this.ctx = ctx; this.pad = new Uint8Array(1 << 20).fill(1); }
  async onMessage(from, m) {
    if (m.op === 'set') { await this.ctx.storage.put('text', m.text); if (m.alarmIn) await this.ctx.storage.setAlarm(Date.now() + m.alarmIn); return null; }
    if (m.op === 'get') return { text: (await this.ctx.storage.get('text')) ?? null, rang: (await this.ctx.storage.get('rang')) ?? 0 };
    return null;
  }
  async alarm() { await this.ctx.storage.put('rang', ((await this.ctx.storage.get('rang')) ?? 0) + 1); }
}`;

const call = (t: TestNode, name: string, message: unknown) =>
  t.api('POST', `/api/v1/namespaces/default/procs/Note/${name}/call`, { message });

describe('process instances across restarts and memory pressure', () => {
  it('come back with their storage, and an alarm set before a restart fires after it', async () => {
    let t = await startTestNode();
    const dataDir = t.node.config.dataDir;
    try {
      assert.equal((await t.deploy('Note', NOTE, { process: { className: 'Note' } })).status, 201);
      assert.equal((await call(t, 'n1', { op: 'set', text: 'kept', alarmIn: 1_500 })).status, 200);
    } finally {
      await t.stop();
    }
    t = await startTestNode({ dataDir });
    try {
      const info = await t.api('GET', '/api/v1/namespaces/default/procs/Note/n1');
      // Not running after the restart, unless its alarm already woke it (a slow restart).
      if (info.body.state === 'swapped') assert.equal(typeof info.body.alarmAt, 'number');
      else assert.equal(info.body.state, 'active', JSON.stringify(info.body));
      const got = await waitFor(
        async () => {
          const reply = (await call(t, 'n1', { op: 'get' })).body.reply as {
            text: string | null;
            rang: number;
          };
          return reply.rang > 0 ? reply : undefined;
        },
        { what: 'the alarm to fire after the restart', timeoutMs: 20_000, intervalMs: 100 },
      );
      assert.deepEqual(got, { text: 'kept', rang: 1 });
    } finally {
      await t.stop();
    }
  });

  it('swaps out idle instances when the memory budget is full; their storage stays', async () => {
    const t = await startTestNode({ memoryBudgetMb: 24 });
    try {
      assert.equal((await t.deploy('Note', NOTE, { process: { className: 'Note' } })).status, 201);
      for (let i = 0; i < 12; i++) {
        const res = await call(t, `m${i}`, { op: 'set', text: `note ${i}` });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        // Hosts report measured heaps every 2 s; give the budget something to go by.
        if (i === 2) await sleep(2_500);
      }
      const listed = (await t.api('GET', '/api/v1/namespaces/default/procs?class=Note')).body.procs as {
        name: string;
        state: string;
      }[];
      assert.ok(
        listed.some((p) => p.state === 'swapped'),
        `some were swapped out: ${listed.map((p) => p.state).join(',')}`,
      );
      for (let i = 0; i < 12; i++) {
        assert.deepEqual((await call(t, `m${i}`, { op: 'get' })).body.reply, { text: `note ${i}`, rang: 0 });
      }
    } finally {
      await t.stop();
    }
  });

  it("swaps out an instance idle past its class's keep-alive; the next event swaps it in", async () => {
    const t = await startTestNode({ autoscaleTickMs: 100 });
    try {
      const d = await t.deploy('Note', NOTE, {
        process: { className: 'Note' },
        scaling: { keepAliveMs: 1_000 },
      });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      assert.equal((await call(t, 'idle', { op: 'set', text: 'still here' })).status, 200);
      const state = async () => (await t.api('GET', '/api/v1/namespaces/default/procs/Note/idle')).body.state;
      assert.equal(await state(), 'active');
      const now = await waitFor(
        async () => {
          const current = (await state()) as string;
          return current === 'active' ? undefined : current;
        },
        {
          what: 'the idle instance to be swapped out',
          timeoutMs: 20_000,
          intervalMs: 100,
        },
      );
      assert.equal(now, 'swapped');
      assert.deepEqual((await call(t, 'idle', { op: 'get' })).body.reply, { text: 'still here', rang: 0 });
      assert.equal(await state(), 'active');
    } finally {
      await t.stop();
    }
  });
});
