/** API keys: created with a namespace scope, stored as sha256 hashes, looked up by hash. */
export { authorize, createApiKey, hashKey } from './keys.js';
