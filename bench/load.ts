/**
 * The load generator, the same for every target: autocannon in the bench process, keep-alive
 * connections, no pipelining. Latency quantiles come from each response's own time (autocannon's
 * `response` event, fractional ms) because its histogram keeps whole milliseconds, which says
 * "0 ms" for most of a fast server's requests.
 */
import autocannon from 'autocannon';
import { percentile, round } from './lib.js';

export interface LoadResult {
  /** 2xx responses per second over the run */
  rps: number;
  /** 2xx responses */
  requests: number;
  /** latency of 2xx responses (ms) */
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  non2xx: number;
}

export async function load(url: string, seconds: number, connections: number): Promise<LoadResult> {
  // Grown by doubling: a fast target answers ~100k requests in a few seconds.
  let times = new Float64Array(1 << 16);
  let n = 0;
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({ url, duration: seconds, connections, pipelining: 1 }, (err: unknown, result) =>
      err
        ? reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err }))
        : resolve(result),
    );
  });
  // The instance's own event (client, status, bytes, ms), not the per-client one @types describes.
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status > 299) return;
    if (n === times.length) {
      const bigger = new Float64Array(times.length * 2);
      bigger.set(times);
      times = bigger;
    }
    times[n++] = ms;
  });
  const result = await finished;
  const sorted = times.subarray(0, n).sort();
  return {
    rps: Math.round(n / result.duration),
    requests: n,
    p50: round(percentile(sorted, 50), 3),
    p99: round(percentile(sorted, 99), 3),
    p999: round(percentile(sorted, 99.9), 3),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
