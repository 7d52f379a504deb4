import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ProcyonError } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type {
  ExitStatus,
  LongRunningProc,
  LongRunningState,
  SpawnRequest,
} from '../sandbox/native/long-running.js';
import type { ProcSpec } from '../sandbox/types.js';
import type { ActivationRecord } from '../store/index.js';
import { SpawnedProcs } from './spawned.js';

/** A proc whose lifecycle the test drives. */
class FakeProc implements LongRunningProc {
  state: LongRunningState = 'starting';
  readonly startedAt = Date.now() - 1500;
  exit: ExitStatus | undefined;
  logsDropped = 0;
  signals: string[] = [];
  #start!: () => void;
  #fail!: (err: Error) => void;
  #end!: (e: ExitStatus) => void;
  readonly #started = new Promise<void>((resolve, reject) => {
    this.#start = resolve;
    this.#fail = reject;
  });
  readonly #exited = new Promise<ExitStatus>((resolve) => (this.#end = resolve));
  constructor(readonly request: SpawnRequest) {
    this.#started.catch(() => undefined);
  }
  get name(): string {
    return this.request.name;
  }
  run(): void {
    this.state = 'running';
    this.#start();
  }
  fail(message: string): void {
    this.#fail(new Error(message));
    this.end({ code: null, signal: null, oomKilled: false, reason: 'failed', message, at: Date.now() });
  }
  end(exit: ExitStatus): void {
    this.state = 'exited';
    this.exit = exit;
    this.#end(exit);
  }
  waitStart = (): Promise<void> => this.#started;
  waitExit = (): Promise<ExitStatus> => this.#exited;
  evict(graceMs: number): void {
    this.signals.push(`TERM+${graceMs}`);
    this.state = 'stopping';
  }
  kill(): void {
    this.signals.push('KILL');
    this.end({ code: null, signal: 'SIGKILL', oomKilled: false, reason: 'killed', at: Date.now() });
  }
  usage = () => ({ memoryBytes: 5 * 2 ** 20, cpuMs: 42 });
  logs = () => [{ ts: 1, level: 'log' as const, msg: 'hello' }];
}

const spec = (fn: string, runtime = true): ProcSpec =>
  ({
    key: `ns/${fn}@v1`,
    namespace: 'ns',
    fn,
    version: 'v1',
    memoryMb: 128,
    ...(runtime
      ? { runtime: { name: 'python3', handler: 'app.handler', artifact: 'h', network: false } }
      : {}),
  }) as ProcSpec;

function setup(maxPerNamespace = 3) {
  const procs: FakeProc[] = [];
  const records: ActivationRecord[] = [];
  const registry = {
    get: (_ns: string, fn: string) => (fn === 'missing' ? undefined : { spec: spec(fn, fn !== 'iso') }),
  } as unknown as Registry;
  const spawned = new SpawnedProcs({
    registry,
    start: (request) => {
      const p = new FakeProc(request);
      procs.push(p);
      return p;
    },
    record: (r) => records.push(r),
    logger: pino({ level: 'silent' }),
    maxPerNamespace,
    keepExitedMs: 60_000,
  });
  return { spawned, procs, records };
}

const code = (fn: () => unknown, expected: string): void =>
  assert.throws(fn, (e: unknown) => e instanceof ProcyonError && e.code === expected);

describe('SpawnedProcs', () => {
  test('spawn names, lists and reports a proc; its run ends as one billed activation', async () => {
    const { spawned, procs, records } = setup();
    const info = spawned.spawn('ns', 'kv', { name: 'kv1', args: ['-v'], port: 8080, main: 'server.py' });
    assert.equal(info.state, 'starting');
    assert.equal(procs[0]?.request.main, 'server.py');
    const auto = spawned.spawn('ns', 'kv', {});
    assert.match(auto.name, /^kv-[0-9a-f]{6}$/);
    procs[0]?.run();
    const started = await spawned.waitStart('ns', 'kv1', 1000);
    assert.equal(started.state, 'running');
    assert.equal(started.memoryBytes, 5 * 2 ** 20);
    assert.ok(started.uptimeMs >= 1500);
    assert.deepEqual(
      spawned.list('ns').map((p) => p.name),
      [auto.name, 'kv1'].sort(),
    );
    procs[0]?.end({ code: 3, signal: null, oomKilled: false, reason: 'exited', at: Date.now() });
    const ended = await spawned.waitExit('ns', 'kv1', 1000);
    assert.equal(ended.exit?.code, 3);
    await new Promise((resolve) => setImmediate(resolve));
    const [record] = records;
    assert.equal(record?.trigger, 'spawn');
    assert.equal(record?.status, 'error');
    assert.equal(record?.errorCode, 'PROCYON_FUNCTION_ERROR');
    assert.equal(record?.instance, 'kv1');
    assert.equal(record?.id, info.activationId);
    assert.ok((record?.billedMs ?? 0) >= 1500);
    assert.equal(record?.cpuMs, 42);
    // The name is free again once its proc has exited.
    spawned.spawn('ns', 'kv', { name: 'kv1' });
  });

  test('evict passes the grace period; kill is immediate; a clean evict or exit 0 is a success', async () => {
    const { spawned, procs, records } = setup();
    spawned.spawn('ns', 'kv', { name: 'a' });
    spawned.evict('ns', 'a', 2500);
    assert.deepEqual(procs[0]?.signals, ['TERM+2500']);
    procs[0]?.end({ code: 0, signal: null, oomKilled: false, reason: 'evicted', at: Date.now() });
    spawned.spawn('ns', 'kv', { name: 'b' });
    spawned.kill('ns', 'b');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      records.map((r) => [r.instance, r.status]),
      [
        ['a', 'success'],
        ['b', 'error'],
      ],
    );
  });

  test('waits time out with 504 and a failed start is 502', async () => {
    const { spawned, procs } = setup();
    spawned.spawn('ns', 'kv', { name: 'slow' });
    await assert.rejects(
      spawned.waitStart('ns', 'slow', 20),
      (e: unknown) => (e as ProcyonError).code === 'PROCYON_TIMEOUT',
    );
    await assert.rejects(
      spawned.waitExit('ns', 'slow', 20),
      (e: unknown) => (e as ProcyonError).code === 'PROCYON_TIMEOUT',
    );
    procs[0]?.fail('no such file');
    await assert.rejects(spawned.waitStart('ns', 'slow', 1000), /failed to start: no such file/);
  });

  test('bad input: unknown or isolate functions, bad names and mains, duplicates, the per-namespace cap', () => {
    const { spawned } = setup(2);
    code(() => spawned.spawn('ns', 'missing', {}), 'PROCYON_FN_NOT_FOUND');
    code(() => spawned.spawn('ns', 'iso', {}), 'PROCYON_BAD_REQUEST');
    code(() => spawned.spawn('ns', 'kv', { name: 'bad name' }), 'PROCYON_VALIDATION');
    code(() => spawned.spawn('ns', 'kv', { main: '../etc/passwd' }), 'PROCYON_VALIDATION');
    code(() => spawned.spawn('ns', 'kv', { main: '/abs.py' }), 'PROCYON_VALIDATION');
    spawned.spawn('ns', 'kv', { name: 'one' });
    code(() => spawned.spawn('ns', 'kv', { name: 'one' }), 'PROCYON_CONFLICT');
    spawned.spawn('ns', 'kv', { name: 'two' });
    code(() => spawned.spawn('ns', 'kv', { name: 'three' }), 'PROCYON_TOO_MANY_REQUESTS');
    code(() => spawned.get('ns', 'ghost'), 'PROCYON_PROC_NOT_FOUND');
    code(() => spawned.get('elsewhere', 'one'), 'PROCYON_PROC_NOT_FOUND');
  });

  test('close kills every proc and waits for them', async () => {
    const { spawned, procs } = setup();
    spawned.spawn('ns', 'kv', { name: 'x' });
    spawned.spawn('ns', 'kv', { name: 'y' });
    await spawned.close();
    assert.deepEqual(
      procs.map((p) => p.state),
      ['exited', 'exited'],
    );
  });
});
