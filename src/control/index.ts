/**
 * The control plane's services: deploy, read and delete functions (functions.ts), the artifacts of
 * native-driver functions (artifacts.ts), secrets (secrets.ts), and the wire types the API and the
 * CLI share (types.ts).
 */
export { ArtifactService } from './artifacts.js';
export {
  FN_OR_CLASS_PATTERN,
  FunctionService,
  LIMITS,
  NAME_PATTERN,
  type DeployInput,
  type FunctionServiceDeps,
} from './functions.js';
export { SecretService, unsealSecrets, type SecretInfo } from './secrets.js';
export type * from './types.js';
