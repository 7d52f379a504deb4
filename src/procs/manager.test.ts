/**
 * The process manager's own policy, with a real registry and SQLite store and a scripted invoker:
 * class resolution, the mailbox bound, send order and hand-off, batched last activity, and the
 * directory's live state. The path through real isolates is test/e2e/processes.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import type { InvocationRequest, InvocationResult } from '../invoker/index.js';
import { createLogger } from '../logger.js';
import { procSpec, Registry } from '../registry/index.js';
import { SqliteStore, type HandlerStyle, type VersionRecord } from '../store/index.js';
import { waitFor } from '../../test/wait.js';
import { Processes, type InstanceProcs } from './manager.js';

function deploy(registry: Registry, fn: string, style: HandlerStyle): void {
  const version: VersionRecord = {
    namespace: 'ns',
    fn,
    id: 'v1',
    code: '',
    style,
    createdAt: 0,
    config: {
      memory: 128,
      timeout: 1000,
      routes: [],
      vars: {},
      ...(style === 'process' ? { process: { className: fn } } : {}),
    },
  };
  const record = { namespace: 'ns', name: fn, latest: 'v1', createdAt: 0, updatedAt: 0 };
  registry.set({ record, version, spec: procSpec(version) });
}

/** An invoker whose calls end when the test says so. */
class ScriptedInvoker {
  readonly requests: InvocationRequest[] = [];
  readonly #ends: ((r: InvocationResult | Error) => void)[] = [];

  invoke(req: InvocationRequest): Promise<InvocationResult> {
    this.requests.push(req);
    return new Promise((resolve, reject) => {
      this.#ends.push((r) => (r instanceof Error ? reject(r) : resolve(r)));
    });
  }

  /** Ends the oldest running call. */
  end(result: InvocationResult | Error = { activationId: 'a', kind: 'event', value: 'ok' }): void {
    this.#ends.shift()?.(result);
  }
}

async function setup(mailbox = 3) {
  const registry = new Registry();
  deploy(registry, 'Counter', 'process');
  deploy(registry, 'plain', 'fetch');
  const store = await SqliteStore.create(':memory:');
  const invoker = new ScriptedInvoker();
  const live = new Set<string>();
  const retired: string[] = [];
  const procs: InstanceProcs = {
    isLive: (key) => live.has(key),
    memoryOf: () => 4096,
    retire: (key) => void retired.push(key),
  };
  const manager = new Processes({
    registry,
    store,
    invoker,
    procs,
    mailbox,
    logger: createLogger('silent'),
  });
  return { manager, store, invoker, live, retired, registry };
}

const at = (name: string, className = 'Counter') => ({ namespace: 'ns', className, name });
const api = { from: { type: 'api' as const } };
const code = (err: unknown): string => (err instanceof ProcyonError ? err.code : String(err));
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Processes (the process manager)', () => {
  it('refuses unknown classes (404), plain functions (400) and bad names (400) before invoking', async () => {
    const { manager, invoker } = await setup();
    await assert.rejects(manager.call(at('a', 'Nope'), 1, api), (e) => code(e) === 'PROCYON_FN_NOT_FOUND');
    await assert.rejects(manager.call(at('a', 'plain'), 1, api), (e) => code(e) === 'PROCYON_BAD_REQUEST');
    await assert.rejects(manager.send(at('..'), 1, api), (e) => code(e) === 'PROCYON_VALIDATION');
    await assert.rejects(manager.call(at('x', 'bad-class'), 1, api), (e) => code(e) === 'PROCYON_VALIDATION');
    assert.equal(invoker.requests.length, 0);
    await manager.close();
  });

  it('bounds each mailbox (events waiting or running), per instance, and frees places as events end', async () => {
    const { manager, invoker } = await setup(3);
    const running = [
      manager.call(at('a'), 0, api),
      manager.send(at('a'), 1, api),
      manager.call(at('a'), 2, api),
    ];
    const full = await manager.call(at('a'), 3, api).catch((e: unknown) => e);
    assert.equal(code(full), 'PROCYON_MAILBOX_FULL');
    assert.equal((full as ProcyonError).status, 429);
    await assert.rejects(manager.send(at('a'), 4, api), (e) => code(e) === 'PROCYON_MAILBOX_FULL');
    // Another instance has its own mailbox.
    const other = manager.call(at('b'), 0, api);
    invoker.end();
    await running[0];
    const next = manager.call(at('a'), 5, api);
    // A failed one-way message gives its place back too.
    invoker.end(new Error('handler threw'));
    await settle();
    const again = manager.call(at('a'), 6, api);
    await assert.rejects(manager.call(at('a'), 7, api), (e) => code(e) === 'PROCYON_MAILBOX_FULL');
    for (let i = 0; i < 4; i++) invoker.end();
    await Promise.all([running[2], other, next, again]);
    await manager.close();
  });

  it('send resolves once handed to the invoker, in the order sent, before the event ends', async () => {
    const { manager, invoker } = await setup(256);
    await Promise.all(Array.from({ length: 200 }, (_, n) => manager.send(at('o'), n, api)));
    const sent = invoker.requests.map((r) => (r.input.kind === 'message' ? r.input.message : null));
    assert.deepEqual(
      sent,
      Array.from({ length: 200 }, (_, i) => i),
    );
    const first = invoker.requests[0];
    assert.equal(first?.instance, 'o');
    assert.equal(first?.trigger, 'message');
    const messageId = first?.input.kind === 'message' ? first.input.from.messageId : undefined;
    assert.match(messageId ?? '', /^[0-9a-f-]{36}$/, 'each one-way message has an id');
    assert.deepEqual(first?.input, {
      kind: 'message',
      from: { type: 'api', messageId },
      message: 0,
      reply: false,
    });
    for (let i = 0; i < 200; i++) invoker.end();
    await manager.close();
  });

  it('writes last activity in batches, not per event; list merges live state and memory', async () => {
    const { manager, store, invoker, live } = await setup();
    const calls = [manager.call(at('t'), 1, api), manager.call(at('t'), 2, api)];
    assert.equal(await store.procs.getInstance(at('t')), undefined, 'nothing written per event');
    invoker.end({ activationId: 'x', kind: 'event', value: 'reply' });
    invoker.end();
    assert.deepEqual(await calls[0], { activationId: 'x', reply: 'reply' });
    await calls[1];
    live.add('ns/Counter@v1#t');
    const [info] = await manager.list('ns', 'Counter');
    assert.equal(info?.name, 't');
    assert.equal(info?.state, 'active');
    assert.equal(info?.memoryBytes, 4096);
    live.clear();
    assert.equal((await manager.get(at('t')))?.state, 'swapped');
    assert.equal((await manager.get(at('t')))?.memoryBytes, 0);
    await manager.close();
  });

  it('evicts by retiring the exact instance key; deletes an instance seen only a moment ago', async () => {
    const { manager, store, invoker, live, retired } = await setup();
    live.add('ns/Counter@v1#e');
    assert.equal(await manager.evict(at('e')), true);
    assert.deepEqual(retired, ['ns/Counter@v1#e']);
    live.clear();
    assert.equal(await manager.evict(at('e')), false);
    const deleted: string[] = [];
    manager.onDelete = (id) => void deleted.push(id.name);
    const call = manager.call(at('d'), 1, api);
    invoker.end();
    await call;
    assert.equal(await manager.delete(at('d')), true, 'its activity was not written yet');
    assert.deepEqual(deleted, ['d']);
    await manager.flush();
    assert.equal(await store.procs.getInstance(at('d')), undefined);
    assert.equal(await manager.delete(at('never')), false);
    await manager.close();
  });

  it('keeps last-activity times the store refused and writes them once it takes writes again', async () => {
    const { manager, store, invoker } = await setup();
    const call = manager.call(at('full'), 1, api);
    invoker.end();
    await call;
    const touch = store.procs.touch.bind(store.procs);
    store.procs.touch = async () => {
      throw new ProcyonError('PROCYON_STORAGE_UNAVAILABLE', 'disk full');
    };
    // The flush timer calls this: it must not reject (an unhandled rejection ends the node).
    await manager.flush();
    assert.equal(await store.procs.getInstance(at('full')), undefined);
    store.procs.touch = touch;
    await manager.flush();
    assert.ok(await store.procs.getInstance(at('full')), 'written on the next flush');
    await manager.close();
  });

  it('stores a one-way message before accepting it: a store that refuses it fails the send (503), nothing runs', async () => {
    const { manager, store, invoker } = await setup(1);
    const enqueue = store.procs.enqueueMessage.bind(store.procs);
    store.procs.enqueueMessage = async () => {
      throw new ProcyonError('PROCYON_STORAGE_UNAVAILABLE', 'disk full');
    };
    await assert.rejects(manager.send(at('m'), 1, api), (e) => code(e) === 'PROCYON_STORAGE_UNAVAILABLE');
    assert.equal(invoker.requests.length, 0, 'not handed over');
    store.procs.enqueueMessage = enqueue;
    // Its mailbox place (of 1) was given back.
    const { id } = await manager.send(at('m'), 2, api);
    assert.deepEqual(
      (await store.procs.listMessages()).map((m) => m.id),
      [id],
      'stored until delivered',
    );
    invoker.end();
    await waitFor(async () => (await store.procs.listMessages()).length === 0, {
      what: 'removal after delivery',
    });
    await manager.close();
  });

  it('redelivers the messages a killed node accepted, oldest first, with their ids', async () => {
    const { manager: before, store, invoker: first } = await setup();
    const sent = [await before.send(at('r'), 'a', api), await before.send(at('r'), 'b', api)];
    // The node dies here: the events never end, the messages stay stored.
    assert.equal(first.requests.length, 2);
    const invoker = new ScriptedInvoker();
    const after = new Processes({
      registry: (await setup()).registry,
      store,
      invoker,
      procs: { isLive: () => false, memoryOf: () => 0, retire: () => undefined },
      mailbox: 1,
      logger: createLogger('silent'),
    });
    assert.equal(await after.redeliver(), 2, 'over the mailbox bound: they were accepted already');
    const got = invoker.requests.map((r) =>
      r.input.kind === 'message' ? [r.input.message, r.input.from.messageId] : null,
    );
    assert.deepEqual(got, [
      ['a', sent[0]?.id],
      ['b', sent[1]?.id],
    ]);
    invoker.end();
    invoker.end(new Error('handler threw'));
    await waitFor(async () => (await store.procs.listMessages()).length === 0, {
      what: 'delivered messages removed, failed or not',
    });
    await before.close();
    await after.close();
  });
});
