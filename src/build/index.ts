/**
 * Building user code: esbuild bundling (bundle.ts), TypeScript checking (typecheck.ts), and, for
 * the node, the check in worker threads with a time and memory budget (pool.ts, worker.ts).
 */
export {
  bundleEntry,
  bundleSource,
  formatBuildError,
  IMPORTS_MUST_BE_BUNDLED,
  type BuildError,
  type BuildResult,
} from './bundle.js';
export { BuildPool, type BuildPoolOptions } from './pool.js';
export { isTypeScript, typecheckEntry, typecheckSource, type TypecheckResult } from './typecheck.js';
