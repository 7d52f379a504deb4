/**
 * A sandbox's side of a function's output, for both drivers: one buffer per call in flight (and
 * one for output while none is), each under a hard cap, with the function's secrets masked. In an
 * isolate the prelude charges each line to a call and caps it first (src/runtime/logs.ts,
 * calls.ts), so the isolate host's cap is there in case the prelude is bypassed; a native
 * sandbox's stdout and stderr have only this cap.
 */
import type { LogLine } from './types.js';

/** The prelude caps logs per call; this is the host's own hard cap in case the prelude is bypassed. */
export const HARD_LOG_FACTOR = 2;
/** Secrets shorter than this are not masked: doing so would garble ordinary output. */
const MIN_REDACT_LENGTH = 4;

const LEVELS = new Set<LogLine['level']>(['debug', 'info', 'log', 'warn', 'error']);

/** The lines of one call (or of the time between calls), up to `limit` bytes. */
export class LogBuffer {
  lines: LogLine[] = [];
  bytes = 0;
  truncated = false;

  constructor(readonly limit: number) {}

  /** Takes what this buffer holds over into the next call's (output made between calls). */
  moveTo(next: LogBuffer): void {
    if (this.lines.length === 0 && !this.truncated) return;
    next.lines = this.lines.concat(next.lines);
    next.bytes += this.bytes;
    next.truncated ||= this.truncated;
    this.lines = [];
    this.bytes = 0;
    this.truncated = false;
  }

  /** The lines so far, and empties the buffer (its limit counts on). */
  take(): { lines: LogLine[]; truncated: boolean } {
    const out = { lines: this.lines, truncated: this.truncated };
    this.lines = [];
    return out;
  }
}

/** Secret masking and the hard cap, shared by every buffer of one proc. */
export class LogPolicy {
  /** Longest first, so a secret that contains another is masked whole. */
  readonly #secrets: string[];

  constructor(secrets: Record<string, string>) {
    this.#secrets = Object.values(secrets)
      .filter((v) => v.length >= MIN_REDACT_LENGTH)
      .sort((a, b) => b.length - a.length);
  }

  /** Masks the function's secrets wherever they appear verbatim. */
  redact(text: string): string {
    for (const secret of this.#secrets)
      if (text.includes(secret)) text = text.split(secret).join('[REDACTED]');
    return text;
  }

  push(buffer: LogBuffer, level: string, msg: string): void {
    if (buffer.truncated) return;
    const text = this.redact(String(msg));
    buffer.bytes += text.length;
    if (buffer.bytes > buffer.limit) {
      buffer.truncated = true;
      buffer.lines.push({
        ts: Date.now(),
        level: 'warn',
        msg: `[procyon] log limit reached; further output dropped`,
      });
      return;
    }
    if (text.startsWith('[procyon] log limit')) buffer.truncated = true;
    buffer.lines.push({
      ts: Date.now(),
      level: LEVELS.has(level as LogLine['level']) ? (level as LogLine['level']) : 'log',
      msg: text,
    });
  }
}
