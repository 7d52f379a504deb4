/**
 * `procyon serve --json`: the start-up summary as one JSON line on stdout, for scripts that start a
 * node and need its URL and admin key without scraping the banner (issue 18 item 5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServeSummary } from '../../src/cli/serve.js';
import { startNode, type NodeProcess } from './harness.js';

void describe('procyon serve --json', () => {
  let node: NodeProcess;
  before(async () => {
    node = await startNode({ args: ['--json'] });
  });
  after(async () => node.stop());

  void it('prints the start-up summary as one JSON object instead of the banner', () => {
    const output = node.output();
    assert.doesNotMatch(output, /Procyon node listening/);
    // The node's pino log lines share stdout; the summary is the one line with `nativeDriver`.
    const summaries = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Partial<ServeSummary>)
      .filter((o) => o.nativeDriver !== undefined);
    assert.equal(summaries.length, 1, output);
    const s = summaries[0] as ServeSummary;
    assert.equal(s.url, node.url);
    assert.equal(s.dataDir, node.dataDir);
    assert.equal(s.adminKey, node.key);
    assert.match(s.adminKeyFile ?? '', /admin\.key$/);
    assert.equal(s.isolateDriver.trusted, false);
    assert.ok(s.isolateDriver.hosts >= 1);
    assert.equal(typeof s.nativeDriver.available, 'boolean');
    assert.equal(typeof s.nativeDriver.layers.socat, 'boolean');
    assert.match(s.nativeDriver.description, /^native driver: /);
    assert.deepEqual(s.functions, []);
  });
});
