/**
 * Noisy neighbour: the hello function's latency under moderate load, alone, then while a function
 * that spins in `for (;;) {}` until its timeout is called back to back by a few clients, first
 * from another namespace, then from the same one. The hog holds a core per call for its whole
 * timeout; the question is how much of that the hello function feels.
 */
import { createNamespace, deploy, HOG, round } from './lib.js';
import { load, type LoadResult } from './load.js';
import { startProcyon } from './targets/procyon.js';

export interface NoisySettings {
  seconds: number;
  connections: number;
  warmupSeconds: number;
  /** concurrent clients calling the hog, each one call after another */
  hogClients: number;
  /** the hog's timeout (ms) */
  hogTimeoutMs: number;
}

interface HogRun {
  hello: LoadResult;
  /** hog calls that ended during the run, by status */
  hogCalls: Record<string, number>;
  /** hello p99 with the hog / hello p99 alone */
  p99Ratio: number;
}

export interface NoisyResult {
  alone: LoadResult;
  hogOtherNamespace: HogRun;
  hogSameNamespace: HogRun;
}

export async function noisyNeighbour(settings: NoisySettings): Promise<NoisyResult> {
  const target = await startProcyon('default');
  if ('unavailable' in target) throw new Error(target.unavailable);
  const { node } = target;
  try {
    await createNamespace(node, 'noisy');
    await deploy(node, 'hog', HOG, { namespace: 'noisy', timeout: settings.hogTimeoutMs });
    await deploy(node, 'hog', HOG, { namespace: 'default', timeout: settings.hogTimeoutMs });
    await load(target.url, settings.warmupSeconds, settings.connections);
    const alone = await load(target.url, settings.seconds, settings.connections);
    const withHog = async (namespace: string): Promise<HogRun> => {
      const hogCalls: Record<string, number> = {};
      let stopped = false;
      const client = async (): Promise<void> => {
        while (!stopped) {
          const res = await fetch(`${node.url}/fn/${namespace}/hog`);
          await res.text();
          hogCalls[res.status] = (hogCalls[res.status] ?? 0) + 1;
        }
      };
      const clients = Array.from({ length: settings.hogClients }, client);
      // The node learns that the hog is CPU-heavy from its first calls, which spin until their
      // timeout (src/invoker/cpu-governor.ts); measure the steady state after that.
      await new Promise((resolve) => setTimeout(resolve, settings.hogTimeoutMs + 500));
      const hello = await load(target.url, settings.seconds, settings.connections);
      stopped = true;
      await Promise.all(clients);
      return { hello, hogCalls, p99Ratio: round(hello.p99 / alone.p99) };
    };
    return {
      alone,
      hogOtherNamespace: await withHog('noisy'),
      hogSameNamespace: await withHog('default'),
    };
  } finally {
    await target.stop();
  }
}
