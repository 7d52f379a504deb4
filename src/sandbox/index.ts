/** Public entry of the sandbox boundary. */
export type * from './types.js';
export { IsolateDriver, type IsolateDriverOptions } from './isolate/driver.js';
export { EGRESS_PATTERN_SOURCE, parseEgressPattern } from './isolate/bridges/index.js';
