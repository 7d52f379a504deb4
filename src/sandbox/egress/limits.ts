/** What a call's `fetch` may reach and how much of it: the policy's inputs plus its limits. */

/** The `fetch` policy and limits of a call (see policy.ts for the pattern syntax). */
export interface EgressLimits {
  /** The function's `egress.allow`: patterns allowed even when their address is private. */
  allow: readonly string[];
  /** The node's `denyEgress`: patterns denied even when the function allows them. */
  deny: readonly string[];
  /** One `fetch`, redirects included, never past the call's deadline. (ms) */
  timeoutMs: number;
  /** Largest response body one `fetch` may read, after decompression. (bytes) */
  maxResponseBytes: number;
}
