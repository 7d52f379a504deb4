import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, withProc, type DispatchResult } from './harness.js';

function eventValue(result: DispatchResult): unknown {
  if (!result.ok) throw new Error(`expected a value, got ${result.error.code}: ${result.error.message}`);
  if (result.result.type !== 'event') throw new Error('expected an event result');
  return result.result.value;
}

describe('dispatch: handler style', () => {
  test('the handler gets the event and a Lambda-like context', async () => {
    const code = `
      export const handler = async (event, context) => ({
        event,
        context: { ...context, getRemainingTimeInMillis: typeof context.getRemainingTimeInMillis },
        remaining: context.getRemainingTimeInMillis(),
      });`;
    await withProc(
      code,
      async (proc) => {
        const deadline = Date.now() + 3_000;
        const value = eventValue(
          await proc.event({ n: 1, list: ['a'] }, { activationId: 'act-42', deadline }),
        ) as {
          event: unknown;
          context: Record<string, unknown>;
          remaining: number;
        };
        assert.deepEqual(value.event, { n: 1, list: ['a'] });
        assert.deepEqual(value.context, {
          awsRequestId: 'act-42',
          functionName: 'fn',
          functionVersion: 'v1',
          memoryLimitInMB: '96',
          invokedFunctionArn: 'arn:procyon:fn:ns:fn',
          logGroupName: '/procyon/ns/fn',
          logStreamName: 'fn/v1',
          callbackWaitsForEmptyEventLoop: false,
          getRemainingTimeInMillis: 'function',
          env: {},
        });
        assert.ok(value.remaining > 0 && value.remaining <= 3_000, `remaining ${value.remaining}`);
      },
      { memoryMb: 96 },
    );
  });

  test('getRemainingTimeInMillis never goes below 0', async () => {
    await withProc(
      `export const handler = (e, context) => context.getRemainingTimeInMillis();`,
      async (proc) => {
        assert.equal(eventValue(await proc.event(null, { deadline: Date.now() - 1_000 })), 0);
      },
    );
  });

  test('sync, async and legacy callback handlers', async () => {
    const cases: [string, unknown][] = [
      [`export const handler = (event) => event * 2;`, 42],
      [`export const handler = async (event) => ({ doubled: event * 2 });`, { doubled: 42 }],
      [`export const handler = (event, context, callback) => { callback(null, 'cb:' + event); };`, 'cb:21'],
      [
        `export const handler = (event, context, callback) => { Promise.resolve().then(() => callback(undefined, [event])); };`,
        [21],
      ],
      [`export const handler = async (event, context, callback) => 'returned';`, 'returned'],
    ];
    for (const [code, expected] of cases) {
      await withProc(code, async (proc) => {
        assert.deepEqual(eventValue(await proc.event(21)), expected, code);
      });
    }
  });

  test('a callback error and a throw are PROCYON_FUNCTION_ERROR', async () => {
    for (const code of [
      `export const handler = (e, c, callback) => callback(new RangeError('cb failed'));`,
      `export const handler = () => { throw new RangeError('cb failed'); };`,
      `export const handler = async () => { throw new RangeError('cb failed'); };`,
      `export const handler = (e, c, callback) => { throw new RangeError('cb failed'); };`,
    ]) {
      await withProc(code, async (proc) => {
        const error = errorOf(await proc.event({}));
        assert.equal(error.code, 'PROCYON_FUNCTION_ERROR', code);
        assert.equal(error.message, 'RangeError: cb failed', code);
        assert.match(error.stack ?? '', /^RangeError: cb failed\n\s+at /, code);
      });
    }
  });

  test('the value is made JSON-safe', async () => {
    const code = `
      export const handler = (kind) => {
        if (kind === 'undefined') return undefined;
        if (kind === 'date') return { at: new Date(0), skip: undefined, fn() {} };
        if (kind === 'nested') return [1, 'x', null, { deep: [true] }];
        if (kind === 'function') return () => 1;
      };`;
    await withProc(code, async (proc) => {
      assert.equal(eventValue(await proc.event('undefined')), null);
      assert.deepEqual(eventValue(await proc.event('date')), { at: '1970-01-01T00:00:00.000Z' });
      assert.deepEqual(eventValue(await proc.event('nested')), [1, 'x', null, { deep: [true] }]);
      assert.equal(eventValue(await proc.event('function')), null);
    });
  });

  test('a value JSON cannot hold is PROCYON_BAD_RESPONSE', async () => {
    const code = `
      export const handler = (kind) => {
        if (kind === 'cycle') { const a = {}; a.a = a; return a; }
        if (kind === 'bigint') return { n: 1n };
        if (kind === 'toJSON') return { toJSON() { throw new Error('no json'); } };
      };`;
    await withProc(code, async (proc) => {
      const out: [string, string][] = [];
      for (const kind of ['cycle', 'bigint', 'toJSON']) {
        const error = errorOf(await proc.event(kind));
        out.push([error.code, error.message.replace(/:[^:]*$/, ':…')]);
      }
      assert.deepEqual(out, [
        ['PROCYON_BAD_RESPONSE', "the handler's result cannot be serialised as JSON: TypeError:…"],
        ['PROCYON_BAD_RESPONSE', "the handler's result cannot be serialised as JSON: TypeError:…"],
        ['PROCYON_BAD_RESPONSE', "the handler's result cannot be serialised as JSON: Error:…"],
      ]);
    });
  });

  test('a result whose JSON passes maxResponseBytes is PROCYON_RESPONSE_TOO_LARGE', async () => {
    await withProc(`export const handler = () => 'é'.repeat(50);`, async (proc) => {
      // JSON is "é…é": 2 quotes + 100 bytes.
      assert.deepEqual(errorOf(await proc.event(null, { maxResponseBytes: 101 })), {
        code: 'PROCYON_RESPONSE_TOO_LARGE',
        message: "the handler's result is 102 bytes of JSON, over the limit of 101 bytes",
      });
      assert.equal(eventValue(await proc.event(null, { maxResponseBytes: 102 })), 'é'.repeat(50));
    });
  });
});
