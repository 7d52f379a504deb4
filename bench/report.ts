/** The race's verdicts against the targets (DESIGN §9) and the Markdown table for the README. */
import type { ColdRate, IdleMemory } from './cold.js';
import type { Quantiles } from './lib.js';
import { round } from './lib.js';
import type { NoisyResult } from './noisy.js';
import type { Unavailable } from './targets/index.js';
import type { TargetName, WarmRow } from './warm.js';

export interface Measured {
  warm: Record<TargetName, WarmRow | Unavailable>;
  coldStart: Quantiles;
  coldStartNoStemCells: Quantiles;
  coldRate: ColdRate;
  idleMemory: IdleMemory;
  noisy: NoisyResult;
}

export interface Verdict {
  measure: string;
  target: string;
  /** null when a side of it could not be measured here */
  value: number | null;
  met: boolean | null;
}

const row = (m: Measured['warm'][TargetName]): WarmRow | undefined => ('unavailable' in m ? undefined : m);

/** `a.rps / b.rps`, or null when either target was unavailable. */
function rpsRatio(a: WarmRow | Unavailable, b: WarmRow | Unavailable): number | null {
  const x = row(a);
  const y = row(b);
  return x && y ? round(x.rps / y.rps, 3) : null;
}

type Compare = '>' | '<' | '<=';
const holds: Record<Compare, (v: number, bound: number) => boolean> = {
  '>': (v, bound) => v > bound,
  '<': (v, bound) => v < bound,
  '<=': (v, bound) => v <= bound,
};
const verdict = (measure: string, value: number | null, op: Compare, bound: number): Verdict => ({
  measure,
  target: `${op} ${bound}`,
  value,
  met: value === null ? null : holds[op](value, bound),
});

export function assess(m: Measured) {
  const { procyonDefault: procyon, procyonTrusted: trusted, workerd, plainNode: plain } = m.warm;
  const { hogOtherNamespace: other, hogSameNamespace: same } = m.noisy;
  const mb = round((m.idleMemory.rssPerIsolateMiB * 2 ** 20) / 1e6, 3);
  return {
    vsWorkerd: verdict('warm req/s, Procyon / workerd', rpsRatio(procyon, workerd), '>', 1.25),
    trustedVsWorkerd: verdict('warm req/s, Procyon trusted / workerd', rpsRatio(trusted, workerd), '>', 1.25),
    vsPlain: verdict('warm req/s, Procyon / plain Node', rpsRatio(procyon, plain), '>', 0.5),
    trustedVsPlain: verdict('warm req/s, Procyon trusted / plain Node', rpsRatio(trusted, plain), '>', 0.5),
    coldP50: verdict('cold start p50 (ms)', m.coldStart.p50, '<', 5),
    coldRate: verdict('cold starts per second', m.coldRate.perSecond, '>', 1000),
    idleMemory: verdict('RSS per idle warm isolate (MB)', mb, '<', 3),
    noisyOther: verdict('noisy neighbour p99 ratio, hog in another namespace', other.p99Ratio, '<=', 2),
    noisySame: verdict('noisy neighbour p99 ratio, hog in the same namespace', same.p99Ratio, '<=', 2),
  } satisfies Record<string, Verdict>;
}

const cells = (m: Measured, f: (r: WarmRow) => string): string =>
  (['procyonDefault', 'procyonTrusted', 'workerd', 'plainNode'] as const)
    .map((name) => {
      const r = row(m.warm[name]);
      return r ? f(r) : 'unavailable';
    })
    .join(' | ');

const yes = (v: Verdict): string => (v.met === null ? 'n/a' : v.met ? 'yes' : 'no');
const ratio = (v: Verdict): string => (v.value === null ? 'n/a' : String(v.value));

export function table(m: Measured): string {
  const v = assess(m);
  const { coldStart: c, coldStartNoStemCells: cn, coldRate: r, idleMemory: mem, noisy: n } = m;
  return [
    '| warm, hello function | Procyon | Procyon trusted | workerd | plain Node `http` |',
    '| --- | --- | --- | --- | --- |',
    `| req/s | ${cells(m, (x) => String(x.rps))} |`,
    `| latency p50 / p99 / p99.9 (ms) | ${cells(m, (x) => `${x.p50} / ${x.p99} / ${x.p999}`)} |`,
    `| CPU per request, server process tree (µs) | ${cells(m, (x) => String(x.cpuUsPerRequest))} |`,
    `| of which the main process (Procyon: the node) (µs) | ${cells(m, (x) => String(x.cpuUsPerRequestRoot))} |`,
    `| cores busy (server) | ${cells(m, (x) => String(x.coresBusy))} |`,
    `| req/s ÷ workerd (target > 1.25) | ${ratio(v.vsWorkerd)} | ${ratio(v.trustedVsWorkerd)} | 1 | |`,
    `| req/s ÷ plain Node (target > 0.5) | ${ratio(v.vsPlain)} | ${ratio(v.trustedVsPlain)} | | 1 |`,
    '',
    '| measure | Procyon | target | met |',
    '| --- | --- | --- | --- |',
    `| cold start, first request of a new version, p50 / p99 (ms) | ${c.p50} / ${c.p99} | p50 < 5 | ${yes(v.coldP50)} |`,
    `| the same with stem cells off, p50 / p99 (ms) | ${cn.p50} / ${cn.p99} | | |`,
    `| cold starts per second (${r.functions} functions, ${r.concurrency} clients) | ${r.perSecond} | > 1000 | ${yes(v.coldRate)} |`,
    `| RSS per idle warm isolate (MiB) | ${mem.rssPerIsolateMiB} | < 3 MB | ${yes(v.idleMemory)} |`,
    `| distinct warm functions in 4 GiB at that rate | ${mem.fitIn4GiB} | | |`,
    `| noisy neighbour: hello p99 alone → hog in another namespace (ms) | ${n.alone.p99} → ${n.hogOtherNamespace.hello.p99} (${n.hogOtherNamespace.p99Ratio}×) | <= 2× | ${yes(v.noisyOther)} |`,
    `| noisy neighbour: hello p99 alone → hog in the same namespace (ms) | ${n.alone.p99} → ${n.hogSameNamespace.hello.p99} (${n.hogSameNamespace.p99Ratio}×) | <= 2× | ${yes(v.noisySame)} |`,
  ].join('\n');
}
