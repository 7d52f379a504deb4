/**
 * The HTTP surface of process instances (control API `/procs` endpoints and the gateway's `/p/`)
 * against a fake ProcessManager: what each endpoint asks the manager, how its answers and errors
 * become HTTP, names refused before the manager is asked, and the API's keys. The real manager is
 * covered end to end in test/e2e/processes.test.ts and test/e2e/cli-procs.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../auth/keys.js';
import { ProcyonError } from '../errors.js';
import { InvocationError } from '../invoker/index.js';
import { createLogger } from '../logger.js';
import { createHttpServer } from '../node/http.js';
import type { Caller, InstanceAddress, InstanceInfo, ProcessManager } from '../procs/index.js';
import type { HttpRequestData } from '../sandbox/index.js';
import { SqliteStore } from '../store/index.js';

type Call = { op: string; address?: InstanceAddress; arg?: unknown; caller?: Caller };

const info = (className: string, name: string): InstanceInfo => ({
  namespace: 'default',
  className,
  name,
  state: 'active',
  createdAt: 1,
  lastActiveAt: 2,
  storageBytes: 30,
  memoryBytes: 4096,
  alarmAt: null,
});

const mailboxFull = (): ProcyonError =>
  new ProcyonError('PROCYON_MAILBOX_FULL', 'the mailbox of Counter/busy is full', {
    details: { retryAfterSeconds: 1 },
  });

/**
 * Instances `Counter/a` and `Counter/b` exist; `a` is live. Instance `busy` has a full mailbox,
 * `broken` fails its events (as an activation, so the error carries an id).
 */
class FakeProcesses implements ProcessManager {
  calls: Call[] = [];
  readonly #known = new Map([
    ['Counter/a', info('Counter', 'a')],
    ['Counter/b', { ...info('Counter', 'b'), state: 'swapped' as const, memoryBytes: 0 }],
  ]);

  #fail(address: InstanceAddress): void {
    if (address.name === 'busy') throw mailboxFull();
    if (address.name === 'broken')
      throw new InvocationError('act-broken', new ProcyonError('PROCYON_FUNCTION_ERROR', 'boom'));
  }

  async list(namespace: string, className?: string): Promise<InstanceInfo[]> {
    this.calls.push({ op: 'list', arg: { namespace, className } });
    return [...this.#known.values()].filter((i) => className === undefined || i.className === className);
  }
  async get(address: InstanceAddress): Promise<InstanceInfo | undefined> {
    this.calls.push({ op: 'get', address });
    return this.#known.get(`${address.className}/${address.name}`);
  }
  async evict(address: InstanceAddress): Promise<boolean> {
    this.calls.push({ op: 'evict', address });
    return this.#known.get(`${address.className}/${address.name}`)?.state === 'active';
  }
  async delete(address: InstanceAddress): Promise<boolean> {
    this.calls.push({ op: 'delete', address });
    return this.#known.has(`${address.className}/${address.name}`);
  }
  async fetch(address: InstanceAddress, request: HttpRequestData, caller: Caller) {
    this.calls.push({ op: 'fetch', address, arg: request, caller });
    this.#fail(address);
    const headers: [string, string][] = [
      ['content-type', 'text/plain'],
      ['x-instance', address.name],
    ];
    async function* chunks(): AsyncIterable<Uint8Array> {
      for (const part of ['one ', 'two ', 'three']) yield new TextEncoder().encode(part);
    }
    if (new URL(request.url).pathname.endsWith('/stream'))
      return {
        activationId: 'act-stream',
        response: { status: 200, headers, body: new Uint8Array(), stream: true },
        body: chunks(),
      };
    const body = new TextEncoder().encode(`${request.method} ${request.url} ${request.body?.length ?? 0}`);
    return { activationId: 'act-fetch', response: { status: 201, headers, body } };
  }
  async call(address: InstanceAddress, message: unknown, caller: Caller) {
    this.calls.push({ op: 'call', address, arg: message, caller });
    this.#fail(address);
    return { activationId: 'act-call', reply: message === 'nothing' ? undefined : { echo: message } };
  }
  async send(address: InstanceAddress, message: unknown, caller: Caller): Promise<{ id: string }> {
    this.calls.push({ op: 'send', address, arg: message, caller });
    this.#fail(address);
    return { id: 'msg-1' };
  }
}

/** A dependency these routes must not touch: any use fails the test loudly. */
function unused<T>(what: string): T {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        throw new Error(`${what}.${String(prop)} used by a process route`);
      },
    },
  ) as T;
}

describe('process instances over HTTP (fake manager)', () => {
  const procs = new FakeProcesses();
  let app: FastifyInstance;
  let store: SqliteStore;
  let admin: string;
  let teamKey: string;

  before(async () => {
    store = await SqliteStore.create(join(mkdtempSync(join(tmpdir(), 'procyon-procs-api-')), 'db.sqlite'));
    await store.ensureNamespace('default');
    await store.ensureNamespace('team-a');
    admin = (await createApiKey(store, null)).key;
    teamKey = (await createApiKey(store, 'team-a')).key;
    app = createHttpServer({
      api: {
        store,
        procs,
        kv: unused('kv'),
        secrets: unused('secrets'),
        functions: unused('functions'),
        invoker: unused('invoker'),
        recorder: unused('recorder'),
        spawned: unused('spawned'),
        maxPayloadBytes: 1024,
        maxDeployBytes: 1024,
        maxJsonDepth: 100,
        baseUrl: () => 'http://node.test',
      },
      gateway: {
        procs,
        registry: unused('registry'),
        invoker: unused('invoker'),
        maxPayloadBytes: 1024,
        defaultHost: () => 'node.test',
      },
      logger: createLogger('silent'),
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      maxConnectionsPerIp: 16,
      metrics: unused('metrics'),
      health: () => null,
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await store.close();
  });
  beforeEach(() => {
    procs.calls = [];
  });

  const api = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, key = admin) => {
    const res = await app.inject({
      method,
      url: `/api/v1/namespaces${path}`,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.json<Record<string, unknown>>() };
  };
  const errorCode = (body: Record<string, unknown>): unknown => (body.error as { code?: unknown }).code;
  const counterA = { namespace: 'default', className: 'Counter', name: 'a' };

  it('lists instances, of one class with ?class, and refuses a bad class filter', async () => {
    const all = await api('GET', '/default/procs');
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body.procs as InstanceInfo[]).map((p) => `${p.className}/${p.name}/${p.state}`),
      ['Counter/a/active', 'Counter/b/swapped'],
    );
    const one = await api('GET', '/default/procs?class=Counter');
    assert.equal(one.status, 200);
    assert.deepEqual(
      procs.calls.map((c) => c.arg),
      [
        { namespace: 'default', className: undefined },
        { namespace: 'default', className: 'Counter' },
      ],
    );
    const bad = await api('GET', '/default/procs?class=bad-class');
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.body), 'PROCYON_VALIDATION');
    assert.equal(procs.calls.length, 2, 'the manager was not asked');
  });

  it('gets one instance, 404 PROCYON_PROC_NOT_FOUND for an unknown one', async () => {
    const found = await api('GET', '/default/procs/Counter/a');
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, info('Counter', 'a'));
    assert.deepEqual(procs.calls[0], { op: 'get', address: counterA });
    const missing = await api('GET', '/default/procs/Counter/nobody');
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing.body), 'PROCYON_PROC_NOT_FOUND');
    assert.match(String((missing.body.error as { message: string }).message), /Counter\/nobody/);
  });

  it('evicts (whether it was live) and deletes (404 when nothing existed)', async () => {
    assert.deepEqual((await api('POST', '/default/procs/Counter/a/evict')).body, { evicted: true });
    assert.deepEqual((await api('POST', '/default/procs/Counter/b/evict')).body, { evicted: false });
    const deleted = await api('DELETE', '/default/procs/Counter/b');
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { deleted: true });
    const none = await api('DELETE', '/default/procs/Counter/nobody');
    assert.equal(none.status, 404);
    assert.equal(errorCode(none.body), 'PROCYON_PROC_NOT_FOUND');
    assert.deepEqual(
      procs.calls.map((c) => `${c.op} ${c.address?.name}`),
      ['evict a', 'evict b', 'delete b', 'delete nobody'],
    );
  });

  it('call answers {reply, activationId} from the API as sender; a missing reply is null', async () => {
    const res = await api('POST', '/default/procs/Counter/a/call', { message: { add: 2 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { reply: { echo: { add: 2 } }, activationId: 'act-call' });
    assert.equal(res.headers['x-procyon-activation-id'], 'act-call');
    assert.deepEqual(procs.calls[0], {
      op: 'call',
      address: counterA,
      arg: { add: 2 },
      caller: { from: { type: 'api' } },
    });
    assert.deepEqual((await api('POST', '/default/procs/Counter/a/call', { message: 'nothing' })).body, {
      reply: null,
      activationId: 'act-call',
    });
    const missing = await api('POST', '/default/procs/Counter/a/call', {});
    assert.equal(missing.status, 400, 'a message must be given, null at least');
    assert.equal(errorCode(missing.body), 'PROCYON_VALIDATION');
    assert.equal(procs.calls.length, 2);
  });

  it('send is 202 {accepted: true, id}', async () => {
    const res = await api('POST', '/default/procs/Counter/a/send', { message: [1, 2] });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { accepted: true, id: 'msg-1' });
    assert.deepEqual(procs.calls[0], {
      op: 'send',
      address: counterA,
      arg: [1, 2],
      caller: { from: { type: 'api' } },
    });
  });

  it('maps a full mailbox to 429 with Retry-After, a failed event to its code and activation id', async () => {
    for (const op of ['call', 'send']) {
      const full = await api('POST', `/default/procs/Counter/busy/${op}`, { message: 1 });
      assert.equal(full.status, 429, op);
      assert.equal(full.headers['retry-after'], '1', op);
      assert.equal(errorCode(full.body), 'PROCYON_MAILBOX_FULL');
    }
    const failed = await api('POST', '/default/procs/Counter/broken/call', { message: 1 });
    assert.equal(failed.status, 500);
    assert.equal(errorCode(failed.body), 'PROCYON_FUNCTION_ERROR');
    assert.equal(failed.headers['x-procyon-activation-id'], 'act-broken');
  });

  // ("." and ".." are not among these: URL parsing resolves them, %2E%2E too, before any route
  // sees them; src/names.ts refuses them where a client could still send them.)
  it('refuses bad class and instance names with 400 before asking the manager', async () => {
    const bad = [
      '/default/procs/bad-class/a',
      '/default/procs/_Counter/a',
      `/default/procs/${'C'.repeat(64)}/a`,
      '/default/procs/Counter/a%2Fb',
      '/default/procs/Counter/sp%20ace',
      `/default/procs/Counter/${'x'.repeat(129)}`,
    ];
    for (const path of bad) {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['DELETE', '', undefined],
        ['POST', '/evict', undefined],
        ['POST', '/call', { message: 1 }],
        ['POST', '/send', { message: 1 }],
      ] as const) {
        const res = await api(method, `${path}${suffix}`, body);
        assert.equal(res.status, 400, `${method} ${path}${suffix}`);
        assert.equal(errorCode(res.body), 'PROCYON_VALIDATION', `${method} ${path}${suffix}`);
      }
    }
    assert.deepEqual(procs.calls, []);
  });

  it('refuses malformed message bodies', async () => {
    const extra = await api('POST', '/default/procs/Counter/a/call', { message: 1, to: 'b' });
    assert.equal(extra.status, 400);
    assert.equal(errorCode(extra.body), 'PROCYON_VALIDATION');
    const broken = await app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/procs/Counter/a/send',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: '{"message":',
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(errorCode(broken.json()), 'PROCYON_BAD_REQUEST');
    assert.deepEqual(procs.calls, []);
  });

  it('needs a key valid for the namespace, and the namespace to exist', async () => {
    const none = await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/procs' });
    assert.equal(none.statusCode, 401);
    assert.equal(errorCode(none.json()), 'PROCYON_UNAUTHORIZED');
    const wrong = await api('POST', '/default/procs/Counter/a/call', { message: 1 }, 'pk_nope');
    assert.equal(wrong.status, 401);
    for (const [method, path, body] of [
      ['GET', '/default/procs', undefined],
      ['GET', '/default/procs/Counter/a', undefined],
      ['POST', '/default/procs/Counter/a/evict', undefined],
      ['DELETE', '/default/procs/Counter/a', undefined],
      ['POST', '/default/procs/Counter/a/call', { message: 1 }],
      ['POST', '/default/procs/Counter/a/send', { message: 1 }],
    ] as const) {
      const other = await api(method, path, body, teamKey);
      assert.equal(other.status, 403, `${method} ${path}`);
      assert.equal(errorCode(other.body), 'PROCYON_FORBIDDEN');
    }
    assert.deepEqual(procs.calls, [], 'a refused key reaches nothing');
    assert.equal((await api('GET', '/team-a/procs', undefined, teamKey)).status, 200);
    const unknown = await api('GET', '/nowhere/procs');
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown.body), 'PROCYON_NAMESPACE_NOT_FOUND');
  });

  describe('gateway /p/:ns/:class/:name/*', () => {
    it('hands the request to the instance (no key) and sends its response and activation id', async () => {
      const res = await app.inject({
        method: 'PUT',
        url: '/p/default/Counter/a/items/7?x=1',
        headers: { host: 'example.test:8080', 'content-type': 'application/octet-stream' },
        payload: Buffer.from('12345'),
      });
      assert.equal(res.statusCode, 201);
      assert.equal(res.body, 'PUT http://example.test:8080/p/default/Counter/a/items/7?x=1 5');
      assert.equal(res.headers['x-procyon-activation-id'], 'act-fetch');
      assert.equal(res.headers['x-instance'], 'a');
      const [call] = procs.calls;
      assert.deepEqual(call?.address, counterA);
      assert.deepEqual(call?.caller, { from: { type: 'api' } });
      const root = await app.inject({ method: 'GET', url: '/p/default/Counter/b' });
      assert.equal(root.statusCode, 201);
      assert.equal(root.body, 'GET http://localhost:80/p/default/Counter/b 0');
    });

    it('streams a streamed body', async () => {
      const res = await app.inject({ method: 'GET', url: '/p/default/Counter/a/stream' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, 'one two three');
      assert.equal(res.headers['x-procyon-activation-id'], 'act-stream');
    });

    it('decodes names and refuses bad ones with a 400 JSON error', async () => {
      const ok = await app.inject({ method: 'GET', url: '/p/default/Counter/a~b.c_d-e' });
      assert.equal(ok.statusCode, 201);
      assert.equal(procs.calls[0]?.address?.name, 'a~b.c_d-e');
      procs.calls = [];
      for (const [path, code] of [
        ['/p/default/bad-class/x', 'PROCYON_VALIDATION'],
        ['/p/default/Counter/a%2Fb', 'PROCYON_VALIDATION'],
        [`/p/default/Counter/${'x'.repeat(129)}`, 'PROCYON_VALIDATION'],
        ['/p/default/Counter', 'PROCYON_BAD_REQUEST'],
        ['/p/default', 'PROCYON_BAD_REQUEST'],
      ] as const) {
        const res = await app.inject({ method: 'GET', url: path });
        assert.equal(res.statusCode, 400, path);
        assert.match(String(res.headers['content-type']), /application\/json/, path);
        assert.equal(errorCode(res.json()), code, path);
      }
      // A malformed escape never reaches the route: Fastify refuses the URL itself (with its own
      // error shape, FST_ERR_BAD_URL, for every route of the node alike).
      assert.equal((await app.inject({ method: 'GET', url: '/p/default/Counter/%E0%A4' })).statusCode, 400);
      assert.deepEqual(procs.calls, []);
    });

    it('maps a full mailbox to 429 with Retry-After and a failed event to its code and id', async () => {
      const full = await app.inject({ method: 'POST', url: '/p/default/Counter/busy/x' });
      assert.equal(full.statusCode, 429);
      assert.equal(full.headers['retry-after'], '1');
      assert.equal(errorCode(full.json()), 'PROCYON_MAILBOX_FULL');
      const failed = await app.inject({ method: 'GET', url: '/p/default/Counter/broken' });
      assert.equal(failed.statusCode, 500);
      assert.equal(failed.headers['x-procyon-activation-id'], 'act-broken');
    });
  });
});
