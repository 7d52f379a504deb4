/**
 * What survives a node killed outright (issue 11 item 4; RELIABILITY cases 15, 28, 30), on real
 * `procyon serve` processes: the activation records of completed calls (all but those that ended
 * within the recorder's flush window before the kill; the test measures the window), every
 * one-way message answered 202 (delivered after the restart, with the id the 202 gave), and the
 * data dir lock (a second node on the same dir refuses; a dead node's lock is taken over).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../wait.js';
import { nodeApi, startNode, type NodeProcess } from './harness.js';

/** The documented loss window (`activationFlushMs`, 200 ms) plus room for a loaded machine. (ms) */
const RECORD_LOSS_BOUND_MS = 1_000;

const HELLO = `export default { fetch: () => new Response('hi') };`;
/** Slow enough that most messages are still waiting when the node is killed. */
const INBOX = `
export class Inbox {
  constructor(ctx) { this.ctx = ctx; }
  async onMessage(from, m) {
    if (m.count) return Object.fromEntries(await this.ctx.storage.list({ prefix: 'm-' }));
    await new Promise((r) => setTimeout(r, 20));
    await this.ctx.storage.put('m-' + m.n, from.messageId ?? null);
    return null;
  }
}`;

async function deploy(node: NodeProcess, name: string, code: string, extra: object = {}): Promise<void> {
  const res = await nodeApi(node, 'PUT', `/namespaces/default/functions/${name}`, {
    code,
    filename: `${name}.js`,
    ...extra,
  });
  assert.equal(res.status, 201, await res.text());
}

async function kill(node: NodeProcess): Promise<number> {
  const at = Date.now();
  node.proc.kill('SIGKILL');
  await waitFor(() => node.proc.exitCode !== null || node.proc.signalCode !== null, {
    what: 'the node to die',
  });
  return at;
}

describe('a node killed with SIGKILL', () => {
  const nodes: NodeProcess[] = [];
  const start = async (dataDir?: string): Promise<NodeProcess> => {
    const node = await startNode(dataDir ? { dataDir } : {});
    nodes.push(node);
    return node;
  };
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('keeps the record of every call that ended more than the flush window before the kill', async (t) => {
    const node = await start();
    await deploy(node, 'hello', HELLO);
    const done: { id: string; at: number }[] = [];
    let killed = false;
    // Four clients calling back to back; the kill lands while calls are in flight.
    const clients = Array.from({ length: 4 }, async () => {
      while (!killed) {
        try {
          const res = await fetch(`${node.url}/fn/default/hello`);
          await res.text();
          const id = res.headers.get('x-procyon-activation-id');
          if (res.status === 200 && id) done.push({ id, at: Date.now() });
        } catch {
          return; // the node is gone
        }
      }
    });
    await waitFor(() => done.length >= 300, { timeoutMs: 60_000, what: '300 completed calls' });
    const killedAt = await kill(node);
    killed = true;
    await Promise.all(clients);

    const again = await start(node.dataDir);
    const res = await nodeApi(again, 'GET', '/namespaces/default/activations?fn=hello&limit=1000');
    const stored = new Set(
      ((await res.json()) as { activations: { id: string }[] }).activations.map((a) => a.id),
    );
    const missing = done.filter((c) => !stored.has(c.id));
    const window = Math.max(0, ...missing.map((c) => killedAt - c.at));
    t.diagnostic(
      `${missing.length} of ${done.length} completed calls have no record; the oldest of them ended ${window} ms before the kill`,
    );
    assert.ok(done.length - missing.length > 0, 'records were written before the kill');
    const late = missing.filter((c) => killedAt - c.at > RECORD_LOSS_BOUND_MS);
    assert.deepEqual(
      late,
      [],
      `records lost of calls that ended over ${RECORD_LOSS_BOUND_MS} ms before the kill`,
    );
  });

  it('delivers after a restart every message a process send answered 202 (case 30)', async () => {
    const node = await start();
    await deploy(node, 'Inbox', INBOX, { process: { className: 'Inbox' } });
    const path = '/namespaces/default/procs/Inbox/box';
    const ids = new Map<number, string>();
    for (let n = 0; n < 100; n++) {
      const res = await nodeApi(node, 'POST', `${path}/send`, { message: { n } });
      assert.equal(res.status, 202);
      ids.set(n, ((await res.json()) as { id: string }).id);
    }
    await kill(node);

    const again = await start(node.dataDir);
    const seen = await waitFor(
      async () => {
        const res = await nodeApi(again, 'POST', `${path}/call`, { message: { count: true } });
        const got = ((await res.json()) as { reply: Record<string, string> }).reply;
        return Object.keys(got).length === 100 ? got : null;
      },
      { timeoutMs: 30_000, what: 'all 100 accepted messages delivered after the restart' },
    );
    for (const [n, id] of ids)
      assert.equal(seen[`m-${n}`], id, `message ${n} delivered with the id its 202 gave`);
  });

  it('lets one node at a time use a data dir; a killed node leaves no lock behind (case 28)', async () => {
    const first = await start();
    const second = await startNode({ dataDir: first.dataDir, readyTimeoutMs: 30_000 }).then(
      () => assert.fail('a second node started on the same data dir'),
      (err: unknown) => String(err),
    );
    assert.match(second, /procyon: another Procyon node \(pid \d+\) is using the data dir/);
    await kill(first);
    const third = await start(first.dataDir);
    assert.equal((await fetch(`${third.url}/healthz`)).status, 200);
  });
});
