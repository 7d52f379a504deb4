import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nestsDeeperThan } from './json-depth.js';

describe('nestsDeeperThan', () => {
  it('counts objects and arrays, mixed', () => {
    assert.equal(nestsDeeperThan('{"a":[{"b":[]}]}', 4), false);
    assert.equal(nestsDeeperThan('{"a":[{"b":[]}]}', 3), true);
    assert.equal(nestsDeeperThan('[[],[],[]]', 2), false);
    assert.equal(nestsDeeperThan('1', 0), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(nestsDeeperThan('["[[[[", "\\"[[[[", "\\\\"]', 1), false);
    assert.equal(nestsDeeperThan('["\\\\", [[]]]', 2), true);
  });

  it('handles 100,000 levels without recursing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.equal(nestsDeeperThan(deep, 100), true);
    assert.equal(nestsDeeperThan(deep, 100_000), false);
  });
});
