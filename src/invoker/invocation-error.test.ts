/** InvocationError wraps a call's error with its activation id; the wrap must not lose facts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcyonError } from '../errors.js';
import { InvocationError } from './index.js';

describe('InvocationError', () => {
  it('keeps the code, message, status, cause and details of the error it wraps', () => {
    const root = new Error('socket closed');
    const inner = new ProcyonError('PROCYON_TOO_MANY_REQUESTS', 'queue full', {
      cause: root,
      details: { retryAfterSeconds: 1 },
    });
    const wrapped = new InvocationError('act-1', inner);
    assert.equal(wrapped.activationId, 'act-1');
    assert.equal(wrapped.code, 'PROCYON_TOO_MANY_REQUESTS');
    assert.equal(wrapped.status, 429);
    assert.equal(wrapped.message, 'queue full');
    assert.equal(wrapped.cause, root);
    assert.deepEqual(wrapped.details, { retryAfterSeconds: 1 });
    assert.deepEqual(wrapped.toJSON(), {
      error: { code: 'PROCYON_TOO_MANY_REQUESTS', message: 'queue full', details: { retryAfterSeconds: 1 } },
    });
  });
});
