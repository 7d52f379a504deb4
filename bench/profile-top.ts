/**
 * Reads a V8 CPU profile (`node --cpu-prof` writes *.cpuprofile) and prints where the time went:
 * the top functions by self time, and self time per place (a package, a Procyon folder, Node's
 * internals, V8's own buckets such as the garbage collector and idle).
 * Usage: node dist/bench/profile-top.js <file.cpuprofile> [top=15]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** the node id each sample was taken in */
  samples: number[];
  /** µs since the previous sample */
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node dist/bench/profile-top.js <file.cpuprofile> [top=15]');
  process.exit(2);
}
const top = Number(topArg ?? 15);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

/** A script URL made short: a package name, a path inside the repo, or Node's own module. */
function place(url: string): string {
  if (url === '') return 'V8 / native';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /dist\/(src\/[^/]+|bench|test)\//.exec(url);
  return ours ? (ours[1] as string) : url;
}

function where(url: string, line: number): string {
  const path = url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return path === '' ? '' : `${path}:${line + 1}`;
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfByFunction = new Map<string, number>();
const selfByPlace = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  // A sample stands for the time until the next one.
  const us = profile.timeDeltas[i + 1] ?? 0;
  const frame = byId.get(id)?.callFrame;
  if (!frame) return;
  total += us;
  const fn = `${frame.functionName || '(anonymous)'} ${where(frame.url, frame.lineNumber)}`.trim();
  selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + us);
  const at = frame.url === '' && frame.functionName.startsWith('(') ? frame.functionName : place(frame.url);
  selfByPlace.set(at, (selfByPlace.get(at) ?? 0) + us);
});

const print = (title: string, entries: Map<string, number>, n: number): void => {
  console.log(`\n${title}`);
  console.log('  self ms    %  ');
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    const ms = (us / 1000).toFixed(1).padStart(8);
    const pct = ((100 * us) / total).toFixed(1).padStart(5);
    console.log(`${ms} ${pct}  ${name}`);
  }
};

console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
print(`top ${top} functions by self time`, selfByFunction, top);
print('self time by place', selfByPlace, 20);
