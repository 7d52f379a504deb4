/**
 * The type-check pool's budgets: a job past its time or memory budget, or one that overflows the
 * compiler's stack, fails with PROCYON_BUILD_BUDGET; its worker is replaced and the next job
 * works; nothing of it reaches the calling process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { bigTypeScript, deepType } from '../../test/ts-sources.js';
import { ProcyonError } from '../errors.js';
import { BuildPool, type BuildPoolOptions } from './index.js';

const OK_TS = `export default { fetch(r: Request): Response { return new Response(r.url); } };\n`;
const OK_JS = `export default { fetch() { return new Response('js'); } };\n`;

function pool(opts: Partial<BuildPoolOptions> = {}): BuildPool {
  return new BuildPool({
    workers: 1,
    timeoutMs: 120_000,
    memoryMb: 512,
    logger: pino({ level: 'silent' }),
    ...opts,
  });
}

async function budgetError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('expected PROCYON_BUILD_BUDGET'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProcyonError, String(err));
  assert.equal(err.code, 'PROCYON_BUILD_BUDGET', err.message);
  assert.equal(err.status, 400);
  return err.message;
}

describe('BuildPool', () => {
  it('type-checks in a worker, reporting type errors as results', async () => {
    const p = pool();
    try {
      assert.deepEqual(await p.check(OK_JS, 'ok.js'), { ok: true }, 'JavaScript is not checked');
      assert.deepEqual(await p.check(OK_TS, 'ok.ts'), { ok: true });
      const bad = await p.check(`export const n: number = 'x';\n`, 'bad.ts');
      assert.deepEqual(bad, {
        ok: false,
        error: {
          file: 'bad.ts',
          line: 1,
          column: 14,
          message: "Type 'string' is not assignable to type 'number'.",
        },
        errors: 1,
      });
    } finally {
      await p.close();
    }
  });

  it('a job past the time budget fails with PROCYON_BUILD_BUDGET; a fresh worker takes the next', async () => {
    const p = pool({ timeoutMs: 1_500 });
    try {
      const message = await budgetError(p.check(bigTypeScript(400_000), 'slow.ts'));
      assert.match(
        message,
        /^slow\.ts: type-checking took longer than the node's build time budget \(1500 ms\)/,
      );
      assert.deepEqual(await p.check(OK_TS, 'next.ts'), { ok: true });
    } finally {
      await p.close();
    }
  });

  it('a job past the memory budget fails with PROCYON_BUILD_BUDGET and the process lives on', async () => {
    const p = pool({ memoryMb: 64 });
    try {
      const message = await budgetError(p.check(bigTypeScript(1_000_000), 'huge.ts'));
      assert.match(
        message,
        /^huge\.ts: type-checking needed more memory than the node's build memory budget \(64 MB\)/,
      );
      assert.deepEqual(await p.check(OK_TS, 'next.ts'), { ok: true });
    } finally {
      await p.close();
    }
  });

  it('a type nested past the stack is PROCYON_BUILD_BUDGET, not a crash', async () => {
    const p = pool();
    try {
      const message = await budgetError(p.check(deepType(20_000), 'deep.ts'));
      assert.match(message, /^deep\.ts: types or expressions are nested too deeply for the type checker/);
      assert.ok((await p.check(OK_TS, 'after.ts')).ok);
    } finally {
      await p.close();
    }
  });

  it('close fails running and queued jobs and refuses new ones', async () => {
    const p = pool();
    const code = (job: Promise<unknown>): Promise<unknown> =>
      job.then(
        () => 'built',
        (e: unknown) => (e instanceof ProcyonError ? e.code : e),
      );
    const jobs = [code(p.check(OK_TS, 'a.ts')), code(p.check(OK_TS, 'b.ts'))];
    await p.close();
    assert.deepEqual(await Promise.all([...jobs, code(p.check(OK_TS, 'c.ts'))]), [
      'PROCYON_SHUTTING_DOWN',
      'PROCYON_SHUTTING_DOWN',
      'PROCYON_SHUTTING_DOWN',
    ]);
  });
});
