import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMetrics, rows } from './top.js';

const metrics = (calls: number, errors: number, cold: number, le10ms: number, total: number) => `
# HELP procyon_invocations_total Invocations by final status
procyon_invocations_total{namespace="default",function="hello",trigger="http",status="success"} ${calls - errors}
procyon_invocations_total{namespace="default",function="hello",trigger="http",status="error"} ${errors}
procyon_invocation_errors_total{namespace="default",function="hello",code="PROCYON_TIMEOUT"} ${errors}
procyon_cold_starts_total{namespace="default",function="hello"} ${cold}
procyon_invocation_duration_seconds_bucket{le="0.001",namespace="default",function="hello"} 0
procyon_invocation_duration_seconds_bucket{le="0.01",namespace="default",function="hello"} ${le10ms}
procyon_invocation_duration_seconds_bucket{le="1",namespace="default",function="hello"} ${total}
procyon_invocation_duration_seconds_bucket{le="+Inf",namespace="default",function="hello"} ${total}
procyon_procs{namespace="default",function="hello",state="idle"} 2
procyon_procs{namespace="default",function="hello",state="busy"} 1
procyon_procs{namespace="default",function="hello",state="starting"} 0
procyon_isolate_hosts 2
`;

describe('procyon top', () => {
  it('turns two /metrics samples into per-function rates and latency quantiles', () => {
    const a = parseMetrics(metrics(10, 0, 1, 10, 10), 0);
    const b = parseMetrics(metrics(110, 10, 6, 108, 110), 2_000);
    assert.deepEqual(rows(a, b), [
      {
        function: 'default/hello',
        rps: 50,
        p50Ms: 10,
        p99Ms: 1000,
        procs: 3,
        busyProcs: 1,
        errorPct: 10,
        coldPct: 5,
      },
    ]);
  });

  it('leaves out functions with neither calls in the interval nor warm procs', () => {
    const idle = (procs: number) =>
      metrics(10, 0, 1, 10, 10)
        .replace(/state="idle"\} 2/, `state="idle"} ${procs}`)
        .replace(/state="busy"\} 1/, 'state="busy"} 0');
    const a = parseMetrics(idle(0), 0);
    assert.deepEqual(rows(a, parseMetrics(idle(0), 1_000)), []);
    const warm = rows(a, parseMetrics(idle(2), 1_000));
    assert.equal(warm[0]?.procs, 2);
    assert.equal(warm[0]?.rps, 0);
  });
});
