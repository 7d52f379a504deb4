import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DeployBody, DeployByNameBody, MessageBody, ProcListQuery } from './schemas.js';

const body = { name: 'Counter', code: 'export class Counter {}' };

describe('deploy body: process classes', () => {
  it('takes process.className, a class name, and the name of either kind', () => {
    assert.ok(Value.Check(DeployBody, { ...body, process: { className: 'Counter' } }));
    assert.ok(Value.Check(DeployBody, { ...body, name: 'hello' }));
    assert.ok(Value.Check(DeployByNameBody, { code: 'x', process: { className: 'Chat_Room' } }));
  });

  it('refuses a className that is not a class name, a missing one and extra fields', () => {
    for (const process of [
      { className: 'not-a-class' },
      { className: '2Counter' },
      { className: '' },
      { className: 'C'.repeat(64) },
      {},
      { className: 'Counter', instance: 'a' },
      'Counter',
    ]) {
      assert.equal(Value.Check(DeployBody, { ...body, process }), false, JSON.stringify(process));
      assert.equal(Value.Check(DeployByNameBody, { code: 'x', process }), false, JSON.stringify(process));
    }
    assert.equal(Value.Check(DeployBody, { ...body, name: 'Counter-1' }), false);
  });
});

describe('process endpoints', () => {
  it('message bodies have exactly a message; ?class is a class name', () => {
    assert.ok(Value.Check(MessageBody, { message: { add: 1 } }));
    assert.ok(Value.Check(MessageBody, { message: null }));
    assert.equal(Value.Check(MessageBody, { message: 1, extra: true }), false);
    assert.ok(Value.Check(ProcListQuery, {}));
    assert.ok(Value.Check(ProcListQuery, { class: 'Counter' }));
    assert.equal(Value.Check(ProcListQuery, { class: 'bad-class' }), false);
  });
});
