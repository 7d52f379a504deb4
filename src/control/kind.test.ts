import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { checkKind, checkStyle } from './kind.js';

const fails = (run: () => void, code: string, message: RegExp, what: string): void =>
  assert.throws(
    run,
    (e: unknown) =>
      e instanceof ProcyonError && e.code === code && e.status === 400 && message.test(e.message),
    what,
  );

describe('checkKind', () => {
  it('names functions by the function rule and process classes by the class rule', () => {
    checkKind({ name: 'hello-world_2' });
    checkKind({ name: 'Counter', process: { className: 'Counter' } });
    checkKind({ name: 'Tally_2', process: { className: 'Counter' } });
    checkKind({ name: 'counter', process: { className: 'Counter' } });
    fails(
      () => checkKind({ name: 'Counter' }),
      'PROCYON_VALIDATION',
      /invalid function name "Counter"/,
      'class-like function',
    );
    for (const name of ['my-counter', '2Counter', '_C', 'C'.repeat(64)]) {
      fails(
        () => checkKind({ name, process: { className: 'Counter' } }),
        'PROCYON_VALIDATION',
        /invalid process class name/,
        name,
      );
    }
    fails(
      () => checkKind({ name: 'Counter', process: { className: 'not-a-class' } }),
      'PROCYON_VALIDATION',
      /invalid process class name "not-a-class"/,
      'bad className',
    );
  });

  it('refuses routes on a process class, saying where its instances are', () => {
    checkKind({ name: 'Counter', process: { className: 'Counter' }, routes: [] });
    checkKind({ name: 'hello', routes: ['GET /hello'] });
    fails(
      () => checkKind({ name: 'Counter', process: { className: 'Counter' }, routes: ['GET /count'] }),
      'PROCYON_VALIDATION',
      /no routes.*\/p\/<namespace>\/Counter\/<name>/,
      'routes',
    );
  });
});

describe('checkStyle', () => {
  it('passes when the module is what the deploy asked for, and is a 400 build error when not', () => {
    checkStyle({ name: 'Counter', process: { className: 'Counter' } }, 'process', 'counter.js');
    checkStyle({ name: 'hello' }, 'fetch', 'hello.js');
    checkStyle({ name: 'hello' }, 'handler', 'hello.js');
    for (const style of ['fetch', 'handler'] as const) {
      fails(
        () => checkStyle({ name: 'Counter', process: { className: 'Counter' } }, style, 'counter.js'),
        'PROCYON_BUILD_FAILED',
        /^counter\.js: .*Counter is not a process class/,
        style,
      );
    }
    fails(
      () => checkStyle({ name: 'hello' }, 'process', 'hello.js'),
      'PROCYON_BUILD_FAILED',
      /^hello\.js: the module is a process class/,
      'process for a function',
    );
  });
});

describe('native-driver functions', () => {
  const artifact = new Uint8Array([1, 2, 3]);
  const base = { name: 'py', runtime: 'python3', handler: 'app.handler', artifact };

  it('takes a runtime, a handler and an artifact', () => {
    checkKind(base);
    checkKind({ name: 'go-fn', runtime: 'custom', artifact });
    checkKind({ ...base, handler: 'pkg/mod.sub.handler' });
  });

  it('refuses what a program cannot be, each with its reason', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, artifact: undefined }, /needs an artifact/],
      [{ ...base, handler: undefined }, /needs a handler such as "index\.handler"/],
      [{ ...base, handler: 'nodot' }, /needs a handler/],
      [{ ...base, handler: 'a/../../etc.handler' }, /invalid handler/],
      [{ ...base, code: 'x' }, /deployed as an artifact, not code/],
      [{ ...base, kv: { KV: 'x' } }, /KV and service bindings/],
      [{ ...base, services: { S: 'x' } }, /KV and service bindings/],
      [{ ...base, scaling: { concurrency: 2 } }, /concurrency must be 1/],
      [{ ...base, process: { className: 'C' } }, /takes no runtime/],
      [{ ...base, name: 'Py' }, /invalid function name/],
      [{ name: 'x', artifact }, /need a runtime/],
      [{ name: 'x', handler: 'a.b' }, /need a runtime/],
    ];
    for (const [input, message] of cases)
      fails(
        () => checkKind(input as unknown as Parameters<typeof checkKind>[0]),
        'PROCYON_VALIDATION',
        message,
        JSON.stringify(input),
      );
  });
});
