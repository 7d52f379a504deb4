/** Public entry of the store boundary. */
export type * from './types.js';
export type * from './function-config.js';
export { SqliteStore } from './sqlite/index.js';
export { StoreHealth, guardStore, type StoreHealthState } from './health.js';
