/**
 * Where console output goes: to the host's log callback, each line tagged with the call it is
 * charged to (calls.ts has the rule), within that call's byte budget. Output while no call is in
 * flight (module top level, work a finished call left running) has a budget of its own, opened by
 * init. The line that would pass a budget is replaced by one marker line and everything after it is
 * dropped, so a chatty function cannot flood the host.
 */
import type { CallRegistry } from './calls.js';
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
  readonly #calls: CallRegistry;

  constructor(calls: CallRegistry) {
    this.#calls = calls;
  }

  get attached(): boolean {
    return this.#host !== null;
  }

  /** Connects the host callback; until then (e.g. while the snapshot is made) output is dropped. */
  attach(host: HostLog, limit: number): void {
    this.#host = host;
    this.#calls.setOutsideLimit(limit);
  }

  /** Writes one line, charged to call `callId` if it is in flight, else by the rule in calls.ts. */
  write(level: LogLevel, msg: string, callId?: number): void {
    const host = this.#host;
    if (host === null) return;
    const calls = this.#calls;
    const owner = (callId === undefined ? undefined : calls.get(callId)) ?? calls.logOwner();
    const budget = calls.budgetOf(owner);
    if (budget.exhausted) return;
    const tag = owner === null ? 0 : owner.id;
    const bytes = utf8ByteLength(msg);
    if (budget.used + bytes <= budget.limit) {
      budget.used += bytes;
      send(host, level, msg, tag);
      return;
    }
    budget.exhausted = true;
    send(host, 'warn', `[procyon] log limit of ${budget.limit} bytes reached; further output dropped`, tag);
  }
}

function send(host: HostLog, level: LogLevel, msg: string, tag: number): void {
  try {
    host(level, msg, tag);
  } catch {
    // The host's callback is fire-and-forget; a failure there must not become the user's error.
  }
}
