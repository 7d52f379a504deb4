/**
 * How the CLI prints: aligned tables and key/value blocks for humans, the API's JSON for `--json`,
 * and the small formatters and parsers commands share. No terminal colours: output is pasted into
 * issues and piped into grep.
 */
import { usageError } from './errors.js';
import type { CliIo } from './io.js';

export type Cell = string | number | boolean | null | undefined;

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(cellText))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `key: value` lines with the keys aligned. */
export function keyValues(pairs: [string, Cell][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${cellText(v)}`.trimEnd()).join('\n');
}

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === '') return '-';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Raw bytes (a function's response, a KV value) as a JSON field: `text` when they are valid UTF-8,
 * else `base64`, so `--json` output never mangles a binary value.
 */
export function bytesJson(bytes: Uint8Array): { text: string } | { base64: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

/** Version and activation ids are long; 8 characters identify one in practice. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A log timestamp from the API (ISO string or ms since epoch) as ISO. */
export function isoTime(ts: string | number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

export function ms(n: number): string {
  return `${Math.round(n * 10) / 10}ms`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `10m`, `1h`, `2d` in ms; undefined when `value` is not such a duration. */
export function durationMs(value: string): number | undefined {
  const m = /^(\d+)(ms|[smhd])$/.exec(value.trim());
  return m ? Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000) : undefined;
}

/** An option parser for a duration flag: `30s`, `10m`, `1h`, `2d`, `500ms` or a number of ms. */
export function durationOption(flag: string): (value: string) => number {
  return (value) => {
    const ms = /^\d+$/.test(value.trim()) ? Number(value) : durationMs(value);
    if (ms === undefined || !Number.isSafeInteger(ms))
      throw usageError(`invalid ${flag} "${value}"; expected a duration like 30s, 10m, 1h or a number of ms`);
    return ms;
  };
}

/**
 * `--since`: an ISO date/time, or a duration back from `now` such as `30s`, `10m`, `1h`, `2d`.
 * Returns an ISO string, the form the API's `since` takes.
 */
export function parseSince(value: string, now: number = Date.now()): string {
  const back = durationMs(value);
  if (back !== undefined) return new Date(now - back).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  throw usageError(`invalid --since "${value}"; expected an ISO time or a duration like 10m, 1h, 2d`);
}

/** commander argument parser for positive integers, e.g. `--limit`, `--memory`. */
export function positiveInt(name: string): (value: string) => number {
  return wholeNumber(name, 1, 'a positive integer');
}

/** commander argument parser for integers from 0, e.g. `--min-instances`. */
export function nonNegativeInt(name: string): (value: string) => number {
  return wholeNumber(name, 0, 'an integer >= 0');
}

function wholeNumber(name: string, min: number, what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw usageError(`${name} must be ${what}, got "${value}"`);
    return Number(value);
  };
}
