/**
 * `npm run bench`: the race. In one run on this machine, with the same load generator (autocannon)
 * and the same hello function: warm throughput, latency and CPU per request on Procyon (isolate
 * hosts, and in-process trusted mode), workerd and a plain Node `http` server; cold-start latency
 * and cold starts per second; memory per idle warm isolate; the noisy-neighbour p99.
 * Then stateful processes (bench/procs.ts): message round trip, the KV baseline, one hot instance,
 * swap-out / swap-in and revival. Then the native driver (bench/native-driver.ts): warm
 * invocations, cold starts from the runtime pool and without it, cold starts per second.
 * Writes bench/results/{race,procs,native-driver}.json and prints the README's tables.
 * Knobs (env): BENCH_PARTS (default "race,procs,native"; "process" still means "native"),
 * BENCH_NATIVE_WARM_N, BENCH_NATIVE_COLD_N, BENCH_NATIVE_RATE_N (old names BENCH_PROCESS_*
 * still read), BENCH_SECONDS, BENCH_WARMUP_SECONDS,
 * BENCH_CONNECTIONS, BENCH_COLD_N, BENCH_COLD_RATE_N, BENCH_COLD_CONCURRENCY,
 * BENCH_NOISY_CONNECTIONS, BENCH_HOG_CLIENTS, BENCH_HOG_TIMEOUT_MS, BENCH_ROUNDS, BENCH_SWAPS.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { coldLatency, coldRateAndMemory } from './cold.js';
import { round } from './lib.js';
import { noisyNeighbour } from './noisy.js';
import { processBench, procsTable } from './procs.js';
import { nativeDriverBench, nativeDriverTable } from './native-driver.js';
import { assess, table } from './report.js';
import { warmRace } from './warm.js';

/** A numeric setting from the env; `old` is a deprecated name still read (the native driver's knobs were BENCH_PROCESS_*). */
const knob = (name: string, fallback: number, old?: string): number => {
  const value = Number(process.env[name] ?? (old === undefined ? undefined : process.env[old]) ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const settings = {
  seconds: knob('BENCH_SECONDS', 10),
  warmupSeconds: knob('BENCH_WARMUP_SECONDS', 2),
  connections: knob('BENCH_CONNECTIONS', 50),
  coldN: knob('BENCH_COLD_N', 200),
  coldRateN: knob('BENCH_COLD_RATE_N', 300),
  coldConcurrency: knob('BENCH_COLD_CONCURRENCY', 8),
  noisyConnections: knob('BENCH_NOISY_CONNECTIONS', 10),
  hogClients: knob('BENCH_HOG_CLIENTS', 3),
  hogTimeoutMs: knob('BENCH_HOG_TIMEOUT_MS', 2_000),
  rounds: knob('BENCH_ROUNDS', 2_000),
  swapRepeats: knob('BENCH_SWAPS', 10),
  nativeWarmN: knob('BENCH_NATIVE_WARM_N', 200, 'BENCH_PROCESS_WARM_N'),
  nativeColdN: knob('BENCH_NATIVE_COLD_N', 30, 'BENCH_PROCESS_COLD_N'),
  nativeRateN: knob('BENCH_NATIVE_RATE_N', 40, 'BENCH_PROCESS_RATE_N'),
  loadGenerator: 'autocannon in the bench process (shares the cores with the server under test)',
};
const parts = new Set((process.env.BENCH_PARTS ?? 'race,procs,native').split(','));
// "process" was the native driver's part before it was renamed; still accepted.
if (parts.has('process')) parts.add('native');

function machine(loadBefore: number) {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    loadAverage1m: { before: round(loadBefore), after: round(loadavg()[0] ?? 0) },
  };
}
mkdirSync('bench/results', { recursive: true });

if (parts.has('race')) {
  const started = new Date().toISOString();
  // The machine may be shared: its load before and after says how much to trust the numbers.
  const loadBefore = loadavg()[0] ?? 0;
  const t0 = performance.now();
  console.log(`warm race: ${settings.seconds}s x ${settings.connections} connections per target`);
  const warm = await warmRace(settings);
  console.log(`cold start: ${settings.coldN} fresh versions, with stem cells then without...`);
  const coldStart = await coldLatency(settings.coldN);
  // The same with no stem cells: what a cold start costs when it makes its own isolate.
  const coldStartNoStemCells = await coldLatency(settings.coldN, 0);
  console.log(
    `cold rate and idle memory: ${settings.coldRateN} functions, ${settings.coldConcurrency} clients...`,
  );
  const { rate: coldRate, memory: idleMemory } = await coldRateAndMemory(
    settings.coldRateN,
    settings.coldConcurrency,
  );
  console.log(
    `noisy neighbour: ${settings.noisyConnections} connections, ${settings.hogClients} hog clients...`,
  );
  const noisy = await noisyNeighbour({ ...settings, connections: settings.noisyConnections });

  const measured = { warm, coldStart, coldStartNoStemCells, coldRate, idleMemory, noisy };
  const result = {
    bench: 'race',
    command: 'npm run bench',
    started,
    durationS: round((performance.now() - t0) / 1000, 1),
    machine: machine(loadBefore),
    // The in-isolate runtime is snapshotted; its size is what a cold start must not grow with.
    preludeBytes: statSync(fileURLToPath(new URL('../runtime/prelude.js', import.meta.url))).size,
    settings,
    ...measured,
    targets: assess(measured),
  };
  writeFileSync('bench/results/race.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${table(measured)}\nwritten: bench/results/race.json (${result.durationS} s)`);
}

if (parts.has('procs')) {
  const started = new Date().toISOString();
  const loadBefore = loadavg()[0] ?? 0;
  const t0 = performance.now();
  console.log(`processes: ${settings.rounds} round trips, ${settings.swapRepeats} swaps per size...`);
  const procs = await processBench(settings);
  const result = {
    bench: 'procs',
    command: 'npm run bench',
    started,
    durationS: round((performance.now() - t0) / 1000, 1),
    machine: machine(loadBefore),
    settings,
    ...procs,
  };
  writeFileSync('bench/results/procs.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${procsTable(procs)}\nwritten: bench/results/procs.json (${result.durationS} s)`);
}

if (parts.has('native')) {
  const started = new Date().toISOString();
  const loadBefore = loadavg()[0] ?? 0;
  const t0 = performance.now();
  console.log(`native driver: warm, cold from the pool and without, ${settings.nativeRateN} starts...`);
  const measured = await nativeDriverBench(settings);
  const result = {
    bench: 'native-driver',
    command: 'BENCH_PARTS=native npm run bench',
    started,
    durationS: round((performance.now() - t0) / 1000, 1),
    machine: machine(loadBefore),
    settings,
    ...measured,
  };
  writeFileSync('bench/results/native-driver.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `\n${nativeDriverTable(measured)}\nwritten: bench/results/native-driver.json (${result.durationS} s)`,
  );
}
