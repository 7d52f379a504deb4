// Runs the compiled tests (after `npm run build`) in two lanes at once, so a 2-core machine stays
// busy without two heavy files competing:
//   heavy: files that start many bubblewrap sandboxes and cgroups, or that measure wall-clock time
//          under CPU load; one at a time, so they never run beside each other.
//   light: everything else (unit tests, runtime tests, in-process e2e); `--test-concurrency` files
//          at a time (@default 2, env PROCYON_TEST_CONCURRENCY).
// Usage: node scripts/test.mjs [all|unit|e2e] [extra node --test flags]. Exits 1 if any lane fails.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Files of the heavy lane, by name under dist/test/e2e/. */
const HEAVY =
  /^(process-[a-z-]+|native-[a-z-]+|cli-procs|limits|scheduler|lifecycle|build-budget)\.test\.js$/;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const [which = 'all', ...extra] = process.argv.slice(2);
if (!['all', 'unit', 'e2e'].includes(which)) {
  console.error(`usage: node scripts/test.mjs [all|unit|e2e] [node --test flags]`);
  process.exit(2);
}
const e2eDir = join('dist', 'test', 'e2e');
const files = walk('dist')
  .filter((f) => !f.startsWith(join('dist', 'bench')))
  .filter((f) => (which === 'all' ? true : f.startsWith(e2eDir) === (which === 'e2e')))
  .sort();
const heavy = files.filter((f) => f.startsWith(e2eDir) && HEAVY.test(f.slice(e2eDir.length + 1)));
const light = files.filter((f) => !heavy.includes(f));
const concurrency = Number(process.env.PROCYON_TEST_CONCURRENCY ?? 2);

/** Runs one lane; its output lines are prefixed with the lane's name. Resolves to its exit code. */
function lane(name, laneFiles, filesAtOnce) {
  if (laneFiles.length === 0) return Promise.resolve(0);
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--test', `--test-concurrency=${filesAtOnce}`, ...extra, ...laneFiles],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr])
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

const started = Date.now();
const codes = await Promise.all([lane('heavy', heavy, 1), lane('light', light, concurrency)]);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(
  `test lanes: heavy ${codes[0] === 0 ? 'passed' : 'FAILED'} (${heavy.length} files), ` +
    `light ${codes[1] === 0 ? 'passed' : 'FAILED'} (${light.length} files), ${seconds} s`,
);
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
