/** Every `procyon` subcommand, one module each; program.ts puts them together. */
export { keyCommand, namespaceCommand } from './access.js';
export { activationCommand, activationsCommand } from './activations.js';
export { deployCommand } from './deploy.js';
export { deleteCommand, getCommand, listCommand, versionsCommand } from './functions.js';
export { invokeCommand } from './invoke.js';
export { kvCommand } from './kv.js';
export { loginCommand } from './login.js';
export { logsCommand } from './logs.js';
export { procCommand } from './procs.js';
export { secretCommand } from './secret.js';
export { nativeCommand } from './spawned.js';
export { topCommand } from './top.js';
