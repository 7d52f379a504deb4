/**
 * `procyon top`: live per-function load from the node's `/metrics`: calls per second, p50/p99
 * latency (estimated from the duration histogram's buckets over the last interval), warm procs
 * (busy/all, from the scheduler's gauge), errors and cold starts as shares of the calls. `--once` prints one interval and exits (for scripts).
 */
import { Command } from 'commander';
import { contextFor, withCommonOptions } from '../context.js';
import { positiveInt, printJson, table } from '../output.js';
import { say } from '../io.js';

interface Sample {
  at: number;
  /** By `ns/fn`: counters, and cumulative histogram buckets (le → count). */
  fns: Map<
    string,
    { calls: number; errors: number; cold: number; procs: number; busy: number; buckets: Map<number, number> }
  >;
}

const LINE = /^(procyon_[a-z_]+)\{([^}]*)\} (\S+)$/;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
}

export function parseMetrics(text: string, at: number): Sample {
  const fns: Sample['fns'] = new Map();
  const entry = (l: Record<string, string>) => {
    const key = `${l.namespace}/${l.function}`;
    let e = fns.get(key);
    if (!e) fns.set(key, (e = { calls: 0, errors: 0, cold: 0, procs: 0, busy: 0, buckets: new Map() }));
    return e;
  };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, rawLabels = '', rawValue] = m;
    const l = labels(rawLabels);
    if (l.function === undefined) continue;
    const value = Number(rawValue);
    if (name === 'procyon_invocations_total') entry(l).calls += value;
    else if (name === 'procyon_invocation_errors_total') entry(l).errors += value;
    else if (name === 'procyon_cold_starts_total') entry(l).cold += value;
    else if (name === 'procyon_procs') {
      entry(l).procs += value;
      if (l.state === 'busy') entry(l).busy += value;
    } else if (name === 'procyon_invocation_duration_seconds_bucket' && l.le !== undefined) {
      entry(l).buckets.set(l.le === '+Inf' ? Infinity : Number(l.le), value);
    }
  }
  return { at, fns };
}

/** The upper bound (ms) of the bucket holding quantile q of the calls between two samples. */
function quantileMs(
  prev: Map<number, number> | undefined,
  cur: Map<number, number>,
  q: number,
): number | null {
  const bounds = [...cur.keys()].sort((a, b) => a - b);
  const total = (cur.get(Infinity) ?? 0) - (prev?.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    const n = (cur.get(le) ?? 0) - (prev?.get(le) ?? 0);
    if (n >= q * total) return le === Infinity ? Infinity : le * 1000;
  }
  return null;
}

export function rows(prev: Sample, cur: Sample) {
  const seconds = Math.max(0.001, (cur.at - prev.at) / 1000);
  return [...cur.fns.entries()]
    .map(([fn, c]) => {
      const p = prev.fns.get(fn);
      const calls = c.calls - (p?.calls ?? 0);
      return {
        function: fn,
        rps: Math.round((calls / seconds) * 10) / 10,
        p50Ms: quantileMs(p?.buckets, c.buckets, 0.5),
        p99Ms: quantileMs(p?.buckets, c.buckets, 0.99),
        procs: c.procs,
        busyProcs: c.busy,
        errorPct: calls > 0 ? Math.round(((c.errors - (p?.errors ?? 0)) / calls) * 1000) / 10 : 0,
        coldPct: calls > 0 ? Math.round(((c.cold - (p?.cold ?? 0)) / calls) * 1000) / 10 : 0,
      };
    })
    .filter((r) => r.rps > 0 || r.procs > 0)
    .sort((a, b) => b.rps - a.rps);
}

const ms = (v: number | null): string => (v === null ? '-' : v === Infinity ? '>900s' : `≤${v}ms`);

export function topCommand(): Command {
  return withCommonOptions(new Command('top'))
    .description(
      'live calls/s, p50/p99 latency, procs, error % and cold-start % per function (from /metrics)',
    )
    .option('--interval <seconds>', 'seconds between samples', positiveInt('--interval'), 2)
    .option('--once', 'print one interval and exit')
    .action(async (opts: { interval: number; once?: boolean }, cmd: Command) => {
      const ctx = contextFor(cmd);
      const sample = async (): Promise<Sample> => {
        const res = await ctx.client.request('GET', '/metrics');
        return parseMetrics(await res.text(), Date.now());
      };
      let prev = await sample();
      for (;;) {
        await new Promise((r) => setTimeout(r, opts.interval * 1000));
        const cur = await sample();
        const data = rows(prev, cur);
        prev = cur;
        if (ctx.json) printJson(ctx.io, { at: new Date(cur.at).toISOString(), functions: data });
        else {
          if (!opts.once && ctx.io.stdout.isTTY) ctx.io.stdout.write('\x1b[2J\x1b[H');
          say(ctx.io, `${ctx.client.url}  ${new Date(cur.at).toISOString()}  every ${opts.interval}s`);
          say(
            ctx.io,
            data.length === 0
              ? 'no calls and no warm procs in this interval'
              : table(
                  ['FUNCTION', 'CALLS/S', 'P50', 'P99', 'PROCS', 'ERR%', 'COLD%'],
                  data.map((r) => [
                    r.function,
                    String(r.rps),
                    ms(r.p50Ms),
                    ms(r.p99Ms),
                    `${r.busyProcs}/${r.procs}`,
                    String(r.errorPct),
                    String(r.coldPct),
                  ]),
                ),
          );
        }
        if (opts.once) return;
      }
    });
}
