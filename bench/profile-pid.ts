/**
 * Records a CPU profile of one running Procyon process: a node or an isolate host. Hosts are
 * started by the node with a bare environment (no NODE_OPTIONS), and Node refuses `--cpu-prof` in
 * NODE_OPTIONS anyway, so this opens the process's inspector with SIGUSR1 (loopback, port 9229),
 * drives V8's Profiler over the DevTools protocol, writes the .cpuprofile and closes the inspector.
 * Usage: node --experimental-websocket dist/bench/profile-pid.js <pid> <seconds> <out.cpuprofile>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [pidArg, secondsArg, out] = process.argv.slice(2);
if (!pidArg || !secondsArg || !out || typeof WebSocket === 'undefined') {
  console.error(
    'usage: node --experimental-websocket dist/bench/profile-pid.js <pid> <seconds> <out.cpuprofile>',
  );
  process.exit(2);
}

/** What a Procyon node's or isolate host's command line runs. */
const SCRIPTS = ['host-main.js', 'cli/main.js'];
// SIGUSR1 ends a process that is not Node: make sure it is one of ours first.
const script = SCRIPTS.find((s) => readFileSync(`/proc/${pidArg}/cmdline`, 'utf8').includes(s));
if (!script) throw new Error(`process ${pidArg} is not a Procyon node or isolate host`);
process.kill(Number(pidArg), 'SIGUSR1');
interface InspectorTarget {
  title: string;
  webSocketDebuggerUrl: string;
}
let target: InspectorTarget | undefined;
for (let i = 0; i < 50 && !target; i++) {
  await sleep(100);
  try {
    const list = (await (await fetch('http://127.0.0.1:9229/json/list')).json()) as InspectorTarget[];
    // Port 9229 may belong to another inspector: only the process asked for will do.
    target = list.find((t) => t.title.endsWith(script));
  } catch {
    // The inspector is not listening yet.
  }
}
if (!target) throw new Error(`no inspector of ${script} on 127.0.0.1:9229 (is another inspector on it?)`);

const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = reject;
});
let nextId = 1;
const waiting = new Map<number, (result: unknown) => void>();
socket.onmessage = (event: MessageEvent) => {
  const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
  if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
};
const call = (method: string, params: object = {}): Promise<unknown> =>
  new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });

await call('Profiler.enable');
await call('Profiler.start');
console.log(`profiling ${script} (pid ${pidArg}) for ${secondsArg} s...`);
await sleep(Number(secondsArg) * 1000);
const { profile } = (await call('Profiler.stop')) as { profile: unknown };
writeFileSync(out, JSON.stringify(profile));
// Leave no debugger port open on the process once the profile is taken.
void call('Runtime.evaluate', { expression: 'process._debugEnd()' });
await sleep(100);
socket.close();
console.log(`written: ${out}`);
