/** The start-up banner line for the native driver's isolation layers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeLayers } from './capabilities.js';
import type { SandboxLayers } from './types.js';

const layers: SandboxLayers = {
  bwrap: '0.8.0',
  noNestedUserns: true,
  socat: true,
  cgroup: { version: 2, memory: true, pids: true, cpu: false },
  unsafe: false,
};

describe('describeLayers', () => {
  test('the banner says whether nested user namespaces are blocked', () => {
    assert.equal(
      describeLayers(layers),
      'native driver: bubblewrap 0.8.0 (nested user namespaces blocked), socat, cgroup v2 (memory, pids)',
    );
    assert.match(describeLayers({ ...layers, noNestedUserns: false }), /nested user namespaces allowed/);
  });

  test('without bubblewrap the driver is unavailable unless unsafe', () => {
    const none = {
      ...layers,
      bwrap: null,
      noNestedUserns: false,
      problems: { bwrap: 'bubblewrap not found' },
    };
    assert.match(describeLayers(none), /^native driver: unavailable \(bubblewrap not found\)/);
    assert.match(describeLayers({ ...none, unsafe: true }), /^native driver: UNSAFE development mode/);
  });
});
