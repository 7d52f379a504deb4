/** The node's own structured log (pino). User functions' console output never goes here. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } });
}
