import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { format } from 'node:util';
import { errorOf, fetchResult, withProc, type LogEntry } from './harness.js';

/** A fetch module whose handler runs `body` (with `request` in scope) and answers 200 "ok". */
function logging(body: string, topLevel = ''): string {
  return `${topLevel}\nexport default { async fetch(request) {\n${body}\nreturn new Response('ok'); } };`;
}

async function logsOf(body: string): Promise<LogEntry[]> {
  return withProc(logging(body), async (proc) => {
    fetchResult(await proc.fetch());
    return proc.logs;
  });
}

const msgs = (logs: LogEntry[]): string[] => logs.map((l) => l.msg);

describe('console formatting', () => {
  test('matches Node util.format for common arguments', async () => {
    // Each entry is the source of one console.log argument list, evaluated in the isolate and here.
    const cases = [
      `'plain string'`,
      `'%s is %d years', 'Bob', 42`,
      `'%i|%f|%d', '42.9px', '1.5e3', '7'`,
      `'%s', 5n`,
      `'%d', 5n`,
      `'100%% sure', 1`,
      `'%j', { a: [1, 'x'] }`,
      `'%o', { a: { b: 1 } }`,
      `'%c styled', 'color: red'`,
      `'missing %s %s', 'one'`,
      `'extra', 1, 'two', true, null, undefined`,
      `{ a: 1, b: 'x', c: [1, 2, 3], d: { e: { f: { g: 1 } } } }`,
      `[1, 'two', [3, [4, [5, [6]]]]]`,
      `new Map([['k', 1], ['j', { x: 1 }]]), new Set([1, 'a'])`,
      `new Uint8Array([1, 2, 3]), [ , 1, , , 2]`,
      `-0, 0, NaN, Infinity, 1e21, Symbol('s')`,
      `{ 'needs-quotes': 1, valid_id: 2, 3: 'num' }`,
      `"it's", ["it's", 'say "hi"', 'new\\nline']`,
      `Object.create(null)`,
      `{ f() {}, g: () => 1, h: class Foo {} }`,
      `new Date(0), /re+/g`,
      `[undefined, null]`,
      `{ long: 'x'.repeat(100) }`,
    ];
    const logs = await logsOf(cases.map((c) => `console.log(${c});`).join('\n'));
    // The same argument lists, evaluated here and formatted by Node as the reference.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluates this test's own literal cases, like the isolate does
    const expected = cases.map((c) => format(...(new Function(`return [${c}]`) as () => unknown[])()));
    assert.deepEqual(msgs(logs), expected);
  });

  test('cycles print as <ref *1> and [Circular *1]', async () => {
    const logs = await logsOf(`
      const a = { name: 'a' };
      a.self = a;
      const b = [1];
      b.push(b);
      console.log(a, b);
    `);
    assert.deepEqual(msgs(logs), [
      "<ref *1> { name: 'a', self: [Circular *1] } <ref *1> [ 1, [Circular *1] ]",
    ]);
  });

  test('errors print as their stack, with extra properties and cause', async () => {
    const logs = await logsOf(`
      const e = new TypeError('bad thing');
      e.code = 'E_BAD';
      console.error(e);
      console.log('failed:', new Error('outer', { cause: new Error('inner') }));
      console.log('%s', new RangeError('as string'));
    `);
    assert.equal(logs[0]?.level, 'error');
    assert.match(logs[0]?.msg ?? '', /^TypeError: bad thing\n {4}at .*\{ code: 'E_BAD' \}$/s);
    assert.match(logs[1]?.msg ?? '', /^failed: Error: outer\n {4}at .*\[cause\]: Error: inner\n/s);
    assert.match(logs[2]?.msg ?? '', /^RangeError: as string\n {4}at /);
  });

  test('getters are not run and objects that throw while inspected do not break logging', async () => {
    const logs = await logsOf(`
      const o = { get boom() { throw new Error('getter ran'); }, set only(v) {} };
      const hostile = new Proxy({}, { ownKeys() { throw new Error('nope'); } });
      const badToString = { toString() { throw new Error('no'); } };
      console.log(o);
      console.log(hostile);
      console.log('%s', badToString);
      console.log('after');
    `);
    assert.deepEqual(msgs(logs), [
      '{ boom: [Getter], only: [Setter] }',
      '[object: inspection failed]',
      '[console: arguments could not be formatted]',
      'after',
    ]);
  });

  test('web objects print readably', async () => {
    const logs = await logsOf(`
      console.log(new Headers({ 'X-A': '1' }));
      console.log(new Response('x', { status: 201 }));
      console.log(request);
      console.log(new URLSearchParams('a=1&b=2'));
      console.log(new URL('https://example.com/p?q=1').href);
    `);
    assert.deepEqual(msgs(logs), [
      "Headers { 'x-a': '1' }",
      "Response {\n  status: 201,\n  statusText: '',\n  headers: Headers { 'content-type': 'text/plain;charset=UTF-8' },\n  ok: true,\n  type: 'default',\n  bodyUsed: false\n}",
      "Request {\n  method: 'GET',\n  url: 'https://fn.example/',\n  headers: Headers {},\n  bodyUsed: false\n}",
      "URLSearchParams { 'a' => '1', 'b' => '2' }",
      'https://example.com/p?q=1',
    ]);
  });

  test('each method logs at its level; trace, assert and dir', async () => {
    const logs = await logsOf(`
      console.log('l'); console.info('i'); console.warn('w'); console.error('e'); console.debug('d');
      console.assert(true, 'not shown'); console.assert(false, 'shown %d', 1); console.assert(0);
      console.dir({ a: { b: { c: { d: 1 } } } }, { depth: 0 });
      console.trace('here');
    `);
    assert.deepEqual(
      logs.slice(0, 9).map((l) => [l.level, l.msg]),
      [
        ['log', 'l'],
        ['info', 'i'],
        ['warn', 'w'],
        ['error', 'e'],
        ['debug', 'd'],
        ['error', 'Assertion failed: shown 1'],
        ['error', 'Assertion failed'],
        ['log', '{ a: [Object] }'],
        ['debug', logs[8]?.msg ?? ''],
      ],
    );
    assert.match(logs[8]?.msg ?? '', /^Trace: here\n {4}at /);
  });
});

describe('log budget', () => {
  test('lines are sent while the running total fits; the next becomes one marker; the rest are dropped', async () => {
    await withProc(
      logging(`for (let i = 0; i < 10; i++) console.log('line-' + i + '-' + 'x'.repeat(13));`),
      async (proc) => {
        fetchResult(await proc.fetch({}, { logLimitBytes: 60 }));
        // Each line is 20 bytes: three fit in 60, the fourth would pass the limit.
        assert.deepEqual(proc.logs, [
          { level: 'log', msg: 'line-0-xxxxxxxxxxxxx', call: 1 },
          { level: 'log', msg: 'line-1-xxxxxxxxxxxxx', call: 1 },
          { level: 'log', msg: 'line-2-xxxxxxxxxxxxx', call: 1 },
          { level: 'warn', msg: '[procyon] log limit of 60 bytes reached; further output dropped', call: 1 },
        ]);
      },
    );
  });

  test('bytes are counted as UTF-8, and each call starts a new budget', async () => {
    await withProc(logging(`console.log('é'.repeat(5)); console.log('é'.repeat(5));`), async (proc) => {
      fetchResult(await proc.fetch({}, { logLimitBytes: 15 }));
      fetchResult(await proc.fetch({}, { logLimitBytes: 20 }));
      assert.deepEqual(msgs(proc.logs), [
        'ééééé',
        '[procyon] log limit of 15 bytes reached; further output dropped',
        'ééééé',
        'ééééé',
      ]);
    });
  });

  test('a single line larger than the budget is replaced by the marker', async () => {
    await withProc(logging(`console.log('y'.repeat(1000)); console.log('small');`), async (proc) => {
      fetchResult(await proc.fetch({}, { logLimitBytes: 100 }));
      assert.deepEqual(msgs(proc.logs), ['[procyon] log limit of 100 bytes reached; further output dropped']);
    });
  });

  test('module top-level output goes to the log with its own budget from init', async () => {
    const code = logging(`console.log('in call');`, `for (let i = 0; i < 5; i++) console.log('top ' + i);`);
    await withProc(
      code,
      async (proc) => {
        assert.deepEqual(msgs(proc.logs), [
          'top 0',
          'top 1',
          '[procyon] log limit of 12 bytes reached; further output dropped',
        ]);
        fetchResult(await proc.fetch());
        assert.equal(proc.logs.at(-1)?.msg, 'in call');
      },
      { init: { logLimitBytes: 12 } },
    );
  });

  test('top-level output defaults to a 64 KiB budget', async () => {
    await withProc(
      logging('', `console.log('z'.repeat(40000)); console.log('z'.repeat(30000));`),
      async (proc) => {
        assert.deepEqual(
          proc.logs.map((l) => l.msg.length),
          [40000, '[procyon] log limit of 65536 bytes reached; further output dropped'.length],
        );
      },
    );
  });

  test('an error from the user still leaves earlier log lines in place', async () => {
    await withProc(logging(`console.log('before'); throw new Error('after logging');`), async (proc) => {
      const error = errorOf(await proc.fetch());
      assert.equal(error.message, 'Error: after logging');
      assert.deepEqual(msgs(proc.logs), ['before']);
    });
  });
});
