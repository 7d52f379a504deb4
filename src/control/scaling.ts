/**
 * A deploy's scaling policy (`ScalingConfig`, obeyed by src/scheduler): checked and put in the
 * form the version's config stores. The checks live here rather than in the API schema so every
 * deploy path (the API, the first-start examples) gets the same rules and messages, and because
 * one rule depends on the node's configuration, which a static schema cannot know.
 */
import { ProcyonError } from '../errors.js';
import type { ScalingConfig } from '../sandbox/index.js';

/** Inclusive ranges of each field. */
export const SCALING_LIMITS = {
  /** Calls one proc takes at once. */
  concurrency: { min: 1, max: 1000 },
  /** Procs kept warm with no traffic. */
  minInstances: { min: 0, max: 100 },
  /** Most procs of one version on the node. */
  maxInstances: { min: 1, max: 1000 },
  /**
   * (ms) No 0 ("gone right after each call"): the scheduler evicts idle procs on its tick, so a
   * 0 would really mean "at the next tick", and a cold start per call is what no one wants.
   */
  keepAliveMs: { min: 1000, max: 86_400_000 },
} as const satisfies Record<keyof ScalingConfig, { min: number; max: number }>;

/** In this order: the config is hashed into the version id, so equal policies must serialise equally. */
const FIELDS = Object.keys(SCALING_LIMITS) as (keyof ScalingConfig)[];

/**
 * The fields the deploy gave, checked, in a fixed order; `undefined` when it gave none, so a
 * version without a policy hashes as it did before scaling existed. Defaults are not filled in:
 * they are the node's, and may change.
 * @param maxProcsPerVersion the node's limit, which `minInstances` must fit in
 */
export function scalingConfig(
  input: ScalingConfig | undefined,
  maxProcsPerVersion: number,
): ScalingConfig | undefined {
  const out: ScalingConfig = {};
  for (const field of FIELDS) {
    const value = input?.[field];
    if (value === undefined) continue;
    const { min, max } = SCALING_LIMITS[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw invalid(`scaling.${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
    out[field] = value;
  }
  const { minInstances, maxInstances } = out;
  if (minInstances !== undefined && maxInstances !== undefined && minInstances > maxInstances) {
    throw invalid(
      `scaling.minInstances (${minInstances}) must not be more than scaling.maxInstances (${maxInstances})`,
    );
  }
  if (minInstances !== undefined && minInstances > maxProcsPerVersion) {
    throw invalid(
      `scaling.minInstances (${minInstances}) is more than this node allows per version (${maxProcsPerVersion}, PROCYON_MAX_PROCS_PER_VERSION)`,
    );
  }
  return Object.keys(out).length ? out : undefined;
}

function invalid(message: string): ProcyonError {
  return new ProcyonError('PROCYON_VALIDATION', message);
}
