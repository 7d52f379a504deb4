/**
 * Parts of a function's deploy config that several layers share: the store keeps them in
 * FunctionConfig, the sandbox gets them in ProcSpec, the scheduler obeys ScalingConfig, the API
 * and the CLI show them. Pure types with no imports, here at the bottom, so the store never
 * imports the sandbox (src/runtime, compiled without Node's types, reaches this file through
 * sandbox/types.ts).
 */

/** A native-driver function's program: a runtime, a handler and an unpacked artifact. */
export interface RuntimeSpec {
  name: 'nodejs' | 'python3' | 'custom';
  /** `file.function` for nodejs and python3; passed as `_HANDLER` to custom bootstraps too. */
  handler: string;
  /** The artifact's content hash. */
  artifact: string;
  /** Whether the sandbox may reach the network, through the egress proxy and policy. */
  network: boolean;
}

/**
 * A function's scaling policy (docs/scheduler.md). Every field is optional; the scheduler fills in
 * the node's defaults.
 */
export interface ScalingConfig {
  /** Calls one proc takes at once. @default 1 */
  concurrency?: number;
  /** Procs kept warm while the version is deployed, even with no traffic. @default 0 */
  minInstances?: number;
  /** Most procs of this version on the node. @default the node's PROCYON_MAX_PROCS_PER_VERSION */
  maxInstances?: number;
  /** An idle proc goes after this long (the last procs of a version; surplus ones go sooner). (ms) */
  keepAliveMs?: number;
}
