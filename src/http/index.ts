/**
 * HTTP plumbing the API, the gateway and the node's server share: errors in the platform's shape
 * (errors.ts), function responses (reply.ts), JSON bodies with a depth limit (json.ts), and what is
 * refused on the raw connection (connections.ts).
 */
export { capConnectionsPerIp, clientErrorHandler, refuseConnect } from './connections.js';
export { errorHandler, toProcyonError } from './errors.js';
export { useDepthLimitedJson } from './json.js';
export { sendResponse } from './reply.js';
