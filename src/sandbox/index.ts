/** Public entry of the sandbox boundary. */
export type * from './types.js';
export { IsolateDriver, type IsolateDriverOptions } from './isolate/driver.js';
export { SandboxRouter } from './router.js';
export { ProcessDriver, type ProcessDriverOptions } from './process/driver.js';
export { ArtifactCache } from './process/artifacts.js';
export { describeLayers, detectLayers } from './process/capabilities.js';
export type { SandboxLayers } from './process/types.js';
