/**
 * Where console output goes: to the host's log callback, within a byte budget per call. Each
 * dispatch opens a new budget (only one call runs per isolate at a time); output before the first
 * call (module top level) has a budget of its own, opened by init. The line that would pass the
 * budget is replaced by one marker line and everything after it is dropped, so a chatty function
 * cannot flood the host.
 */
import type { HostLog, LogLevel } from './contract.js';
import { utf8ByteLength } from './encoding.js';

/** Budget of console output outside a call when init gives none; the platform default. (bytes) */
export const DEFAULT_LOG_LIMIT_BYTES = 64 * 1024;

export class LogBudget {
  readonly limit: number;
  used = 0;
  exhausted = false;

  constructor(limit: number) {
    this.limit = Number.isFinite(limit) && limit >= 0 ? limit : DEFAULT_LOG_LIMIT_BYTES;
  }
}

export class LogSink {
  #host: HostLog | null = null;
  #budget = new LogBudget(DEFAULT_LOG_LIMIT_BYTES);

  get attached(): boolean {
    return this.#host !== null;
  }

  /** Connects the host callback; until then (e.g. while the snapshot is made) output is dropped. */
  attach(host: HostLog, limit: number): void {
    this.#host = host;
    this.#budget = new LogBudget(limit);
  }

  /** Starts the budget of a new call; it stays current until the next call starts. */
  startCall(limit: number): void {
    this.#budget = new LogBudget(limit);
  }

  write(level: LogLevel, msg: string): void {
    const host = this.#host;
    const budget = this.#budget;
    if (host === null || budget.exhausted) return;
    const bytes = utf8ByteLength(msg);
    if (budget.used + bytes <= budget.limit) {
      budget.used += bytes;
      send(host, level, msg);
      return;
    }
    budget.exhausted = true;
    send(host, 'warn', `[procyon] log limit of ${budget.limit} bytes reached; further output dropped`);
  }
}

function send(host: HostLog, level: LogLevel, msg: string): void {
  try {
    host(level, msg);
  } catch {
    // The host's callback is fire-and-forget; a failure there must not become the user's error.
  }
}
