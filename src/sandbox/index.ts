/** Public entry of the sandbox boundary. */
export type * from './types.js';
export { IsolateDriver, type IsolateDriverOptions } from './isolate/driver.js';
export { SandboxRouter } from './router.js';
export { NativeDriver, type NativeDriverOptions } from './native/driver.js';
export { describeLayers, detectLayers } from './native/capabilities.js';
export type { SandboxLayers } from './native/types.js';
export type { ExitStatus, LongRunningProc, LongRunningState, SpawnRequest } from './native/long-running.js';
