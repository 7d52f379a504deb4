/**
 * Several calls in flight on one IsolateProc (a function's `concurrency`): each gets its own
 * response, body, waitUntil set, logs and bridge context; a call that hits a limit takes the
 * isolate with it and the others fail at once with PROCYON_PROC_LOST. Real isolates from the
 * built prelude (run after `npm run build`, with `node --no-node-snapshot`).
 */
import ivm from 'isolated-vm';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InvokeInput, InvokeOutput } from '../types.js';
import { exitWithoutTeardown } from './exit.js';
import { IsolateProc, type CallResult, type ProcHooks } from './proc.js';
import type { CallSpec, LoadSpec, TailMeta } from './protocol.js';

exitWithoutTeardown();

/** dist/src/sandbox/isolate/proc.test.js -> dist/runtime/prelude.js */
const PRELUDE_PATH = fileURLToPath(new URL('../../../runtime/prelude.js', import.meta.url));
const KEY = 'ns/fn@v1';
const LOG_LIMIT = 64 * 1024;

let snapshot: ivm.ExternalCopy<ArrayBuffer> | undefined;

function preludeSnapshot(): ivm.ExternalCopy<ArrayBuffer> {
  snapshot ??= ivm.Isolate.createSnapshot([
    { code: readFileSync(PRELUDE_PATH, 'utf8'), filename: 'procyon:prelude.js' },
  ]);
  return snapshot;
}

function load(code: string, extra: Partial<LoadSpec> = {}): LoadSpec {
  return {
    key: KEY,
    namespace: 'ns',
    fn: 'fn',
    version: 'v1',
    code,
    memoryMb: 64,
    vars: {},
    secrets: {},
    bindings: { kv: [], services: [] },
    egress: { allow: [] },
    scaling: { concurrency: 10 },
    ...extra,
  };
}

/** What the node was asked for through `rpc`, by activation. */
interface RpcSeen {
  activationId: string;
  op: string;
  args: unknown[];
}

function hooksRecording(seen: RpcSeen[]): ProcHooks {
  return {
    egress: { deny: [], timeoutMs: 5_000, maxResponseBytes: 1024 * 1024 },
    rpc: async ({ activationId }, op, args) => {
      seen.push({ activationId, op, args });
      // A KV miss, a little later, so that the calls' awaits interleave.
      await new Promise((resolve) => setTimeout(resolve, 5));
      return null;
    },
  };
}

async function withProc(
  code: string,
  fn: (proc: IsolateProc, run: Runner) => Promise<void>,
  extra: Partial<LoadSpec> = {},
): Promise<RpcSeen[]> {
  const seen: RpcSeen[] = [];
  const hooks = hooksRecording(seen);
  const proc = await IsolateProc.create(preludeSnapshot(), load(code, extra), LOG_LIMIT);
  let next = 1;
  const run: Runner = (path, options = {}) => {
    const spec: CallSpec = {
      activationId: options.activationId ?? `act-${next++}`,
      timeoutMs: options.timeoutMs ?? 5_000,
      logLimitBytes: options.logLimitBytes ?? LOG_LIMIT,
      maxResponseBytes: 1024 * 1024,
    };
    const input: InvokeInput = {
      type: 'fetch',
      request: { method: 'GET', url: `https://fn.example${path}`, headers: [], body: null },
    };
    return proc.call(input, spec, false, hooks, KEY);
  };
  try {
    await fn(proc, run);
  } finally {
    proc.dispose();
  }
  return seen;
}

type Runner = (
  path: string,
  options?: { activationId?: string; timeoutMs?: number; logLimitBytes?: number },
) => Promise<CallResult>;

const decoder = new TextDecoder();

function textOf(out: InvokeOutput): string {
  if (!out.ok) throw new Error(`expected a response, got ${out.error.code}: ${out.error.message}`);
  if (out.result.type !== 'fetch') throw new Error('expected a fetch response');
  return decoder.decode(out.result.response.body);
}

const msgs = (out: InvokeOutput | TailMeta): string[] => out.logs.map((l) => l.msg);

/** Pulls a tail's streamed body to its end, then finishes the call. */
async function drain(result: CallResult): Promise<{ text: string; meta: TailMeta }> {
  assert.ok(result.tail, 'the call has a tail');
  let text = '';
  for (let chunk = await result.tail.pull(1024); chunk !== null; chunk = await result.tail.pull(1024))
    text += decoder.decode(chunk);
  return { text, meta: await result.tail.finish() };
}

/** A handler that answers `/<name>/<ms>` after a host timer of `ms`, logging before and after. */
const SLEEPER = `
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  export default { async fetch(request) {
    const [, name, ms] = new URL(request.url).pathname.split('/');
    console.log(name + ' sync');
    await sleep(Number(ms));
    console.log(name + ' after');
    return new Response('hello ' + name);
  } };`;

describe('IsolateProc: overlapping calls', () => {
  test('ten overlapping calls each get their own response; inFlight counts them', async () => {
    await withProc(SLEEPER, async (proc, run) => {
      const before = proc.lastUsed;
      const pending = Array.from({ length: 10 }, (_, i) => run(`/c${i}/${(10 - i) * 3}`));
      await new Promise((resolve) => setTimeout(resolve, 1));
      assert.equal(proc.inFlight, 10);
      const results = await Promise.all(pending);
      assert.deepEqual(
        results.map((r) => textOf(r.out)),
        Array.from({ length: 10 }, (_, i) => `hello c${i}`),
      );
      assert.ok(results.every((r) => r.tail === null));
      assert.equal(proc.inFlight, 0);
      assert.ok(proc.lastUsed >= before);
      assert.deepEqual(
        results.map((r) => r.out.activationId),
        Array.from({ length: 10 }, (_, i) => `act-${i + 1}`),
      );
    });
  });

  test('console output of a handler in its synchronous part goes to its own call; later output to the oldest call', async () => {
    await withProc(SLEEPER, async (_proc, run) => {
      const first = run('/A/150');
      const second = run('/B/10');
      const b = (await second).out;
      const a = (await first).out;
      assert.equal(textOf(b), 'hello B');
      assert.deepEqual(msgs(b), ['B sync'], 'B printed "B after" after an await, while A was in flight');
      assert.deepEqual(msgs(a), ['A sync', 'B after', 'A after']);
    });
  });

  test('streamed bodies of two overlapping calls are not mixed', async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      const enc = new TextEncoder();
      export default { fetch(request) {
        const tag = new URL(request.url).pathname.slice(1);
        let sent = 0;
        return new Response(new ReadableStream({
          async pull(c) {
            await sleep(2);
            if (sent++ < 5) c.enqueue(enc.encode(tag + sent + ';')); else c.close();
          },
        }, { highWaterMark: 0 }));
      } };`;
    await withProc(code, async (proc, run) => {
      const [a, b] = await Promise.all([run('/a'), run('/b')]);
      assert.equal(proc.inFlight, 2, 'both calls are in their tails');
      const [bodyA, bodyB] = await Promise.all([drain(a), drain(b)]);
      assert.equal(bodyA.text, 'a1;a2;a3;a4;a5;');
      assert.equal(bodyB.text, 'b1;b2;b3;b4;b5;');
      assert.equal(bodyA.meta.error, undefined);
      assert.equal(proc.inFlight, 0);
    });
  });

  test("one call's waitUntil does not hold back another's response and settles in its own tail", async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      export default { async fetch(request, env, ctx) {
        if (new URL(request.url).pathname === '/slow-tail') {
          ctx.waitUntil(sleep(100).then(() => console.log('background done')));
          return new Response('A');
        }
        return new Response('B');
      } };`;
    await withProc(code, async (proc, run) => {
      const a = await run('/slow-tail');
      assert.equal(textOf(a.out), 'A');
      assert.ok(a.tail, 'A has waitUntil work');
      let aFinished = false;
      const finishA = a.tail.finish().then((meta) => {
        aFinished = true;
        return meta;
      });
      const b = await run('/');
      assert.equal(textOf(b.out), 'B');
      assert.equal(b.tail, null);
      assert.equal(aFinished, false, "B's response came while A's waitUntil work was still running");
      assert.equal(proc.inFlight, 1);
      const meta = await finishA;
      assert.deepEqual(msgs(meta), ['background done']);
      assert.equal(meta.error, undefined);
      assert.equal(proc.inFlight, 0);
    });
  });

  test('a timer set after an await while calls overlap survives the end of the other call', async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      export default { async fetch(request) {
        const ms = Number(new URL(request.url).pathname.slice(1));
        await null;
        await sleep(ms);
        return new Response('slept ' + ms);
      } };`;
    await withProc(code, async (_proc, run) => {
      const short = run('/20');
      // Its sleep is set after an await, with the short call in flight: it cannot be told apart
      // from the short call's work, so it must not end with it.
      const long = run('/150');
      assert.equal(textOf((await short).out), 'slept 20');
      assert.equal(
        textOf((await long).out),
        'slept 150',
        "the short call's end did not cancel the long call's timer",
      );
    });
  });

  test('KV calls through env are attributed to their own call, even after an await', async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      export default { async fetch(request, env) {
        const name = new URL(request.url).pathname.slice(1);
        await sleep(name === 'first' ? 30 : 5);
        await env.CACHE.get(name);
        await sleep(5);
        await env.CACHE.get(name + '-again');
        return new Response(name);
      } };`;
    const seen = await withProc(
      code,
      async (_proc, run) => {
        const results = await Promise.all([
          run('/first', { activationId: 'act-first' }),
          run('/second', { activationId: 'act-second' }),
        ]);
        assert.deepEqual(
          results.map((r) => textOf(r.out)),
          ['first', 'second'],
        );
      },
      { bindings: { kv: ['CACHE'], services: [] } },
    );
    const byKey = Object.fromEntries(seen.map((s) => [String(s.args[1]), s.activationId]));
    assert.deepEqual(byKey, {
      first: 'act-first',
      'first-again': 'act-first',
      second: 'act-second',
      'second-again': 'act-second',
    });
  });

  test("each call's logs have their own cap; secrets are masked in every call", async () => {
    const code = `
      export default { fetch(request, env) {
        const n = Number(new URL(request.url).pathname.slice(1));
        for (let i = 0; i < n; i++) console.log('line ' + i + ' ' + env.TOKEN);
        return new Response('ok');
      } };`;
    await withProc(
      code,
      async (_proc, run) => {
        const [many, few] = await Promise.all([run('/50', { logLimitBytes: 200 }), run('/2')]);
        // Ten 19-byte lines fit in 200 bytes; the eleventh would not (the prelude counts bytes
        // before secrets are masked).
        assert.equal(msgs(many.out).length, 11);
        assert.equal(
          msgs(many.out).at(-1),
          '[procyon] log limit of 200 bytes reached; further output dropped',
        );
        assert.deepEqual(msgs(few.out), ['line 0 [REDACTED]', 'line 1 [REDACTED]']);
      },
      { secrets: { TOKEN: 'sekrit-value' } },
    );
  });
});

describe('IsolateProc: a limit hit by one call', () => {
  test('a busy loop times out; the overlapping calls fail at once with PROCYON_PROC_LOST; a fresh proc works', async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      export default { async fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === '/spin') for (;;) {}
        if (path === '/stream') {
          return new Response(new ReadableStream({ async pull(c) { await sleep(5); c.enqueue(new Uint8Array(4)); } }));
        }
        await sleep(20_000);
        return new Response('never');
      } };`;
    await withProc(code, async (proc, run) => {
      const streaming = await run('/stream', { timeoutMs: 30_000 });
      assert.ok(streaming.tail);
      assert.ok(await streaming.tail.pull(1024));
      const started = Date.now();
      const waiting = run('/wait', { timeoutMs: 30_000 });
      const spinning = run('/spin', { timeoutMs: 200 });
      const spun = (await spinning).out;
      assert.equal(!spun.ok && spun.error.code, 'PROCYON_TIMEOUT');
      const lost = (await waiting).out;
      assert.equal(!lost.ok && lost.error.code, 'PROCYON_PROC_LOST');
      assert.match(
        !lost.ok ? lost.error.message : '',
        /another call on it hit a limit \(PROCYON_TIMEOUT\); retry/,
      );
      assert.ok(Date.now() - started < 5_000, 'the waiting call did not wait for its own 30 s timeout');
      // The streaming call is between pulls: its next pull ends the body, and its tail says why.
      assert.equal(await streaming.tail.pull(1024), null);
      const meta = await streaming.tail.finish();
      assert.equal(meta.error?.code, 'PROCYON_PROC_LOST');
      assert.equal(proc.disposed, true);
      assert.equal(proc.inFlight, 0);
    });
    await withProc(code, async (_proc, run) => {
      const spin = (await run('/spin', { timeoutMs: 100 })).out;
      assert.equal(!spin.ok && spin.error.code, 'PROCYON_TIMEOUT', 'alone, a timeout is still a timeout');
    });
    await withProc(SLEEPER, async (_proc, run) => {
      assert.equal(textOf((await run('/fresh/0')).out), 'hello fresh');
    });
  });

  test('a call that awaits forever times out by the host timer; the other call is lost', async () => {
    const code = `
      export default { async fetch(request) {
        await new Promise(() => {});
      } };`;
    await withProc(code, async (_proc, run) => {
      const other = run('/other', { timeoutMs: 30_000 });
      const stuck = (await run('/stuck', { timeoutMs: 100 })).out;
      assert.equal(!stuck.ok && stuck.error.code, 'PROCYON_TIMEOUT');
      const lost = (await other).out;
      assert.equal(!lost.ok && lost.error.code, 'PROCYON_PROC_LOST');
    });
  });

  test('a heap overflow in one call: that call gets PROCYON_MEMORY_LIMIT, the other PROCYON_PROC_LOST', async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      export default { async fetch(request) {
        if (new URL(request.url).pathname === '/hog') {
          const hoard = [];
          for (;;) hoard.push(new Array(100_000).fill(hoard.length));
        }
        await sleep(20_000);
        return new Response('never');
      } };`;
    await withProc(
      code,
      async (_proc, run) => {
        const other = run('/other', { timeoutMs: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, 5));
        const hog = (await run('/hog', { timeoutMs: 30_000 })).out;
        assert.equal(!hog.ok && hog.error.code, 'PROCYON_MEMORY_LIMIT');
        const lost = (await other).out;
        assert.equal(!lost.ok && lost.error.code, 'PROCYON_PROC_LOST');
        assert.match(!lost.ok ? lost.error.message : '', /PROCYON_MEMORY_LIMIT/);
      },
      { memoryMb: 16 },
    );
  });
});

describe('IsolateProc: CPU time of overlapping calls', () => {
  test("the isolate's CPU time is divided between the calls in flight, not counted twice", async () => {
    const code = `
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      const spin = () => { let x = 0; for (let i = 0; i < 2e7; i++) x += i % 7; return x; };
      export default { async fetch(request) {
        if (new URL(request.url).pathname === '/busy') spin();
        else await sleep(300);
        return new Response('ok');
      } };`;
    await withProc(code, async (_proc, run) => {
      await run('/busy');
      const alone = (await run('/busy')).out.cpuMs;
      // The idle call is in flight all the while the busy one spins: they share its CPU time.
      const idle = run('/idle');
      const busy = (await run('/busy')).out.cpuMs;
      const waited = (await idle).out.cpuMs;
      assert.ok(busy > 0 && waited > 0);
      // Charging each call the isolate's CPU over its whole span would count the spin twice (2x);
      // the same spin's CPU time varies by tens of percent on a loaded machine, hence the margins.
      const total = busy + waited;
      assert.ok(
        total > 0.4 * alone && total < 1.7 * alone,
        `alone ${alone} ms; together ${busy} + ${waited} ms`,
      );
    });
  });
});
