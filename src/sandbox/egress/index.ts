/**
 * Public entry of the egress policy: where a sandbox's outgoing connections may go, and the
 * hop-by-hop headers every relay drops. It sits below its users (the isolate bridges' `fetch`,
 * the native driver's egress and procs proxies, the config and API schema that check patterns,
 * the node's HTTP replies) and imports none of them, so loading it loads no driver and no cycle
 * runs through it.
 */
export { EGRESS_PATTERN_SOURCE, EgressPolicy, normalizeAddress, parseEgressPattern } from './policy.js';
export type { EgressLimits } from './limits.js';
export { endToEndHeaders, HOP_BY_HOP_HEADERS } from './hop-by-hop.js';
