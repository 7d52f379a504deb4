/**
 * Limits both sides of the isolate boundary enforce: the in-isolate prelude (src/runtime), so that
 * isolate code gets a clear error at once, and the host's bridges, which cannot trust the prelude
 * of an isolate that runs user code. One constant each, so the two sides cannot drift apart.
 * Pure and dependency-free, without Node types: the prelude bundle includes this module.
 */

/**
 * Timers one call may have pending at once. The prelude counts the timers of its isolate (which
 * are at least those of any one call); the host counts the sleeps of one call.
 */
export const MAX_PENDING_TIMERS = 10_000;
