/**
 * `procyon logs <name>`: the log lines of a function's recent activations, oldest first, one line
 * each: `<ISO ts> <activation id short> <level> <msg>`. With `--follow` it polls every second for
 * activations it has not printed yet until Ctrl-C.
 *
 * The activation list does not carry logs (docs/API.md), so each activation is fetched once by id.
 * Activations are recorded when they end but ordered by start, so a poll asks for everything that
 * started within one function timeout of the newest seen: a long call that ends after a short one
 * that started later is still printed.
 */
import { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Activation, FunctionInfo } from '../../api/index.js';
import { seg } from '../client.js';
import { logLines } from './activations.js';
import { contextFor, withCommonOptions, type Context } from '../context.js';
import { isoTime, parseSince, positiveInt, shortId } from '../output.js';
import { say, note } from '../io.js';

/** Activations shown without --limit. */
const DEFAULT_LIMIT = 20;
/** --follow poll period. (ms) */
const POLL_MS = 1000;
/** Slack on top of the function's timeout for an activation to be recorded. (ms) */
const RECORD_SLACK_MS = 5000;
/** Activation detail requests in flight at once. */
const FETCH_CONCURRENCY = 8;

interface LogsOptions {
  follow?: boolean;
  since?: string;
  limit?: number;
}

export function logsCommand(): Command {
  return withCommonOptions(new Command('logs'))
    .description("print a function's log lines, oldest first")
    .argument('<name>', 'function name')
    .option('-f, --follow', 'keep polling for new activations (every second) until Ctrl-C')
    .option('--since <time>', 'only activations started after this: ISO time or 30s/10m/1h/2d ago')
    .option(
      '--limit <n>',
      `the most recent n activations (default: ${DEFAULT_LIMIT})`,
      positiveInt('--limit'),
    )
    .addHelpText('after', '\nWith --json, prints one activation (with its logs) per line (NDJSON).')
    .action(async (name: string, opts: LogsOptions, cmd: Command) => {
      const ctx = contextFor(cmd);
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      // Fails with PROCYON_FN_NOT_FOUND for a typo instead of printing nothing.
      const { data: fn } = await ctx.client.json<FunctionInfo>('GET', `${ctx.nsPath}/functions/${seg(name)}`);
      const tail = new Tail(ctx, name, since);
      const printed = await tail.poll({ limit: opts.limit ?? DEFAULT_LIMIT });
      if (!opts.follow) {
        if (printed === 0 && !ctx.json) note(ctx.io, `No activations of ${name} yet.`);
        return;
      }
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        for (;;) {
          await sleep(POLL_MS, undefined, { signal: ac.signal });
          await tail.poll({ windowMs: fn.timeout + RECORD_SLACK_MS, limit: 100, signal: ac.signal });
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

class Tail {
  readonly #ctx: Context;
  readonly #fn: string;
  /** Printed activation ids, with their start, pruned as the window moves on. */
  readonly #seen = new Map<string, number>();
  /** Start of the newest printed activation. (ms since epoch) */
  #newest = 0;
  /** Nothing that started before this is printed: `--since`, or the oldest of a truncated page. */
  #floor: number | undefined;

  constructor(ctx: Context, fn: string, since: string | undefined) {
    this.#ctx = ctx;
    this.#fn = fn;
    this.#floor = since === undefined ? undefined : Date.parse(since);
  }

  /** Prints activations not printed before; returns how many. */
  async poll(o: { windowMs?: number; limit: number; signal?: AbortSignal }): Promise<number> {
    let from = this.#floor;
    if (o.windowMs !== undefined && this.#newest > 0) {
      const cutoff = this.#newest - o.windowMs;
      from = Math.max(from ?? cutoff, cutoff);
      for (const [id, start] of this.#seen) if (start < cutoff) this.#seen.delete(id);
    }
    const since = from === undefined ? undefined : new Date(from).toISOString();
    const { data } = await this.#ctx.client.json<{ activations: Activation[] }>(
      'GET',
      `${this.#ctx.nsPath}/activations`,
      { query: { fn: this.#fn, since, limit: o.limit }, signal: o.signal },
    );
    const fresh = data.activations
      .filter((a) => !this.#seen.has(a.id) && (from === undefined || Date.parse(a.start) >= from))
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || a.id.localeCompare(b.id));
    // A full page means older activations were cut off; never print those later, out of order.
    const oldest = fresh[0];
    if (data.activations.length >= o.limit && oldest !== undefined) {
      this.#floor = Math.max(this.#floor ?? 0, Date.parse(oldest.start));
    }
    for (let i = 0; i < fresh.length; i += FETCH_CONCURRENCY) {
      const batch = await Promise.all(
        fresh.slice(i, i + FETCH_CONCURRENCY).map((a) => this.#withLogs(a, o.signal)),
      );
      for (const a of batch) this.#print(a);
    }
    return fresh.length;
  }

  async #withLogs(a: Activation, signal: AbortSignal | undefined): Promise<Activation> {
    if (a.logs !== undefined) return a;
    const path = `${this.#ctx.nsPath}/activations/${seg(a.id)}`;
    return (await this.#ctx.client.json<Activation>('GET', path, { signal })).data;
  }

  #print(a: Activation): void {
    const start = Date.parse(a.start);
    this.#seen.set(a.id, start);
    if (start > this.#newest) this.#newest = start;
    if (this.#ctx.json) {
      this.#ctx.io.stdout.write(`${JSON.stringify(a)}\n`);
      return;
    }
    const id = shortId(a.id);
    for (const l of a.logs ?? []) for (const line of logLines(l, `${id} `)) say(this.#ctx.io, line);
    if (a.logsTruncated)
      say(this.#ctx.io, `${isoTime(a.start)} ${id} warn  (log output truncated by the node)`);
  }
}
