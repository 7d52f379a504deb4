/**
 * A node killed with SIGKILL while a process instance commits storage transactions: after the
 * restart every transaction is either all there or not there at all, the instance comes back on
 * demand with what was committed, and its storage accounting matches (issue 6, item 6).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeApi as api, startNode, type NodeProcess } from './harness.js';

const BATCH = 40;

/** `/run` commits transactions of BATCH puts until killed; `/check` counts each batch's keys. */
const TXN = `
export class Txn {
  constructor(ctx) { this.ctx = ctx; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.endsWith('/run')) {
      for (let b = 0; ; b++) {
        await this.ctx.storage.transaction(async (txn) => {
          for (let j = 0; j < ${BATCH}; j++) await txn.put('b' + String(b).padStart(6, '0') + '-' + j, { b, j, pad: 'x'.repeat(200) });
          await txn.put('last', b);
        });
      }
    }
    const counts = {};
    for (const [key, value] of await this.ctx.storage.list({ prefix: 'b' })) {
      counts[value.b] = (counts[value.b] ?? 0) + 1;
    }
    return Response.json({ counts, last: (await this.ctx.storage.get('last')) ?? null });
  }
}`;

describe('SIGKILL during a storage transaction', () => {
  let node: NodeProcess | undefined;
  after(async () => {
    await node?.stop();
  });

  it('leaves each transaction whole or absent, and the instance revives with it', async () => {
    node = await startNode();
    const deployed = await api(node, 'PUT', '/namespaces/default/functions/Txn', {
      code: TXN,
      filename: 'txn.js',
      timeout: 60_000,
      process: { className: 'Txn' },
    });
    assert.equal(deployed.status, 201, await deployed.text());
    // Runs until the node dies under it.
    const running = fetch(`${node.url}/p/default/Txn/one/run`).catch(() => null);
    await sleep(1_500);
    node.proc.kill('SIGKILL');
    await running;
    await node.stop();

    node = await startNode({ dataDir: node.dataDir });
    const res = await fetch(`${node.url}/p/default/Txn/one/check`);
    assert.equal(res.status, 200);
    const { counts, last } = (await res.json()) as { counts: Record<string, number>; last: number | null };
    const batches = Object.keys(counts).map(Number);
    assert.ok(batches.length > 0, 'some transactions committed before the kill');
    for (const b of batches) assert.equal(counts[b], BATCH, `batch ${b} is whole`);
    // Batches commit in order, so the committed ones are 0..last with no gap.
    assert.equal(last, Math.max(...batches));
    assert.equal(batches.length, (last ?? -1) + 1);

    const info = await api(node, 'GET', '/namespaces/default/procs/Txn/one');
    assert.equal(info.status, 200);
    const instance = (await info.json()) as { storageBytes: number; state: string };
    assert.ok(instance.storageBytes > batches.length * BATCH * 200, `storage ${instance.storageBytes} B`);
  });
});
