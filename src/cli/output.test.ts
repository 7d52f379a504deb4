import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLines } from './commands/activations.js';
import { parseKeepAlive, parseVar, defaultName } from './commands/deploy.js';
import { scalingText } from './commands/functions.js';
import { readEvent } from './commands/invoke.js';
import { CliError } from './errors.js';
import {
  bytes,
  bytesJson,
  isoTime,
  keyValues,
  nonNegativeInt,
  parseSince,
  positiveInt,
  shortId,
  table,
} from './output.js';

void describe('table', () => {
  void it('aligns columns and does not pad the last one', () => {
    assert.equal(
      table(
        ['NAME', 'MEMORY', 'ROUTES'],
        [
          ['hello', '128MB', 'GET /hello'],
          ['a-much-longer-name', 16, null],
        ],
      ),
      [
        'NAME                MEMORY  ROUTES',
        'hello               128MB   GET /hello',
        'a-much-longer-name  16      -',
      ].join('\n'),
    );
  });

  void it('prints booleans and empty cells readably', () => {
    assert.equal(
      table(
        ['A', 'B'],
        [
          [true, ''],
          [false, undefined],
        ],
      ),
      'A    B\nyes  -\nno   -',
    );
  });

  void it('aligns key/value blocks', () => {
    assert.equal(
      keyValues([
        ['id', 'x'],
        ['function', 'f'],
      ]),
      'id:       x\nfunction: f',
    );
  });
});

void describe('formatters', () => {
  void it('shortens ids, formats sizes and timestamps', () => {
    assert.equal(shortId('3f2a9c1d00112233'), '3f2a9c1d');
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(2048), '2.0 KiB');
    assert.equal(bytes(3 * 1024 * 1024), '3.0 MiB');
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
    assert.equal(isoTime('2024-05-01T10:00:00Z'), '2024-05-01T10:00:00.000Z');
  });
});

void describe('parseSince', () => {
  const now = Date.parse('2024-05-01T12:00:00.000Z');
  void it('accepts durations back from now', () => {
    assert.equal(parseSince('30s', now), '2024-05-01T11:59:30.000Z');
    assert.equal(parseSince('10m', now), '2024-05-01T11:50:00.000Z');
    assert.equal(parseSince('1h', now), '2024-05-01T11:00:00.000Z');
    assert.equal(parseSince('2d', now), '2024-04-29T12:00:00.000Z');
  });

  void it('accepts ISO times', () => {
    assert.equal(parseSince('2024-05-01T10:00:00Z', now), '2024-05-01T10:00:00.000Z');
    assert.equal(parseSince('2024-05-01', now), '2024-05-01T00:00:00.000Z');
  });

  void it('rejects anything else as a usage error', () => {
    for (const bad of ['10', 'yesterday', '5w', '2024-13-45']) {
      assert.throws(
        () => parseSince(bad, now),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message.includes(`"${bad}"`),
        bad,
      );
    }
  });
});

void describe('option parsers', () => {
  void it('parses positive integers', () => {
    assert.equal(positiveInt('--limit')('25'), 25);
    for (const bad of ['0', '-1', '1.5', 'ten', ''])
      assert.throws(() => positiveInt('--limit')(bad), /--limit must be/);
  });

  void it('parses integers from 0 for --min-instances', () => {
    assert.equal(nonNegativeInt('--min-instances')('0'), 0);
    assert.equal(nonNegativeInt('--min-instances')('12'), 12);
    for (const bad of ['-1', '1.5', 'two', ''])
      assert.throws(
        () => nonNegativeInt('--min-instances')(bad),
        (e: unknown) =>
          e instanceof CliError &&
          e.exitCode === 2 &&
          e.message === `--min-instances must be an integer >= 0, got "${bad}"`,
      );
  });

  void it('parses --keep-alive as a duration or plain ms', () => {
    assert.equal(parseKeepAlive('30s'), 30_000);
    assert.equal(parseKeepAlive('10m'), 600_000);
    assert.equal(parseKeepAlive('1h'), 3_600_000);
    assert.equal(parseKeepAlive('2500ms'), 2500);
    assert.equal(parseKeepAlive('45000'), 45_000);
    for (const bad of ['', '1.5s', '-5s', '10 minutes', 's', '1w', '99999999999999999999']) {
      assert.throws(
        () => parseKeepAlive(bad),
        (e: unknown) =>
          e instanceof CliError && e.exitCode === 2 && e.message.startsWith(`invalid --keep-alive "${bad}"`),
        bad,
      );
    }
  });

  void it('shows scaling as set, and says when the node defaults apply', () => {
    assert.equal(scalingText({}), 'node defaults');
    assert.equal(
      scalingText({ concurrency: 10, minInstances: 0, maxInstances: 4, keepAliveMs: 30_000 }),
      'concurrency 10, min 0, max 4, keep-alive 30s',
    );
    assert.equal(scalingText({ keepAliveMs: 3_600_000 }), 'keep-alive 1h');
    assert.equal(scalingText({ keepAliveMs: 90_000 }), 'keep-alive 90s');
    assert.equal(scalingText({ keepAliveMs: 1500 }), 'keep-alive 1500ms');
  });

  void it('collects --var KEY=VALUE, values may contain =', () => {
    assert.deepEqual(parseVar('B=x=y', parseVar('A=1', {})), { A: '1', B: 'x=y' });
    assert.deepEqual(parseVar('EMPTY=', {}), { EMPTY: '' });
    for (const bad of ['novalue', '=x', '1A=x', 'A-B=x'])
      assert.throws(() => parseVar(bad, {}), /invalid --var/);
  });

  void it('names a function after its file', () => {
    assert.equal(defaultName('src/Hello.ts'), 'hello');
    assert.equal(defaultName('/abs/api.mjs'), 'api');
  });

  void it('reads the invoke event and rejects bad JSON before any request', async () => {
    assert.deepEqual(await readEvent({}), {});
    assert.deepEqual(await readEvent({ data: '{"n":1}' }), { n: 1 });
    assert.equal(await readEvent({ data: '42' }), 42);
    await assert.rejects(
      readEvent({ data: '{n:1}' }),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === 1 && /^--data is not valid JSON/.test(e.message),
    );
    await assert.rejects(readEvent({ data: '1', dataFile: 'x' }), /not both/);
    await assert.rejects(
      readEvent({ dataFile: '/no/such/file.json' }),
      /cannot read --data-file \/no\/such\/file\.json \(ENOENT\)/,
    );
  });
});

void describe('logLines', () => {
  void it('prefixes every line of a multi-line message', () => {
    assert.deepEqual(logLines({ ts: 0, level: 'warn', msg: 'careful\n  at x' }, 'abcd1234 '), [
      '1970-01-01T00:00:00.000Z abcd1234 warn  careful',
      '1970-01-01T00:00:00.000Z abcd1234 warn    at x',
    ]);
    assert.deepEqual(logLines({ ts: '1970-01-01T00:00:01Z', level: 'error', msg: '' }), [
      '1970-01-01T00:00:01.000Z error',
    ]);
  });
});

void describe('bytesJson', () => {
  void it('gives UTF-8 as text and anything else as base64', () => {
    assert.deepEqual(bytesJson(Buffer.from('héllo')), { text: 'héllo' });
    assert.deepEqual(bytesJson(Uint8Array.of(0xff, 0x00, 0xc3)), { base64: '/wDD' });
  });
});
