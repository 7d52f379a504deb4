/**
 * The node's native driver, from its config: which isolation layers this machine has (reported
 * in the start-up banner), the limits every sandbox gets, and where Procyon's bootstraps are.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeConfig } from '../config.js';
import { LIMITS } from '../control/index.js';
import type { Logger } from '../logger.js';
import { detectLayers, NativeDriver, type ProcSpec } from '../sandbox/index.js';
import type { MemoryBudget } from '../scheduler/index.js';

/** src/node/ (or dist/src/node/) -> the package's runtimes/ directory. */
function runtimesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/')
    ? new URL('../../../', import.meta.url)
    : new URL('../../', import.meta.url);
  return fileURLToPath(new URL('runtimes/', root));
}

/**
 * Where this node's sandboxes and unpacked artifacts live: outside the data directory, which is
 * private to the node's user (0700), because bubblewrap runs as the sandbox's unprivileged user
 * and must reach what it mounts. One directory per data directory, so nodes do not share it.
 */
export function sandboxRoot(config: NodeConfig): string {
  const id = createHash('sha256').update(config.dataDir).digest('hex').slice(0, 12);
  return join(tmpdir(), `procyon-sandboxes-${id}`);
}

export async function startNativeDriver(
  config: NodeConfig,
  deps: {
    artifactDir: (hash: string) => Promise<string>;
    deployed: () => Iterable<ProcSpec>;
    logger: Logger;
    /** The node's one proc memory budget, shared with the isolate driver. */
    memoryBudget: MemoryBudget;
  },
): Promise<NativeDriver> {
  const layers = await detectLayers({ unsafe: config.unsafeNativeSandbox });
  return NativeDriver.create({
    ...deps,
    layers,
    sandboxesDir: join(sandboxRoot(config), 'boxes'),
    runtimesDir: runtimesDir(),
    limits: { pids: config.nativePids, cpus: config.nativeCpus, tmpBytes: config.nativeTmpBytes },
    denyEgress: [...config.denyEgress],
    egressTimeoutMs: config.fetchTimeoutMs,
    maxResponseBytes: config.maxPayloadBytes,
    logLimitBytes: config.logLimitBytes,
    scheduler: {
      maxProcsPerVersion: config.maxProcsPerVersion,
      keepAliveMs: config.keepAliveMs,
      memoryBudget: deps.memoryBudget,
      stableWindowMs: config.autoscaleWindowMs,
      panicWindowMs: Math.max(1, Math.round(config.autoscaleWindowMs / 10)),
      // A sandbox's runtime is tens of MB until measured.
      procMemoryEstimateBytes: 32 * 1024 * 1024,
    },
    poolSize: config.nativePool,
    poolMemoryMb: LIMITS.memory.default,
    startTimeoutMs: config.nativeStartTimeoutMs,
    tickMs: config.autoscaleTickMs,
  });
}
