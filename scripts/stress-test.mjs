// `npm run test:stress`: the whole `npm test` with two extra CPU-burning processes beside it, the
// way a shared CI runner or a developer's busy laptop runs it. A suite that passes here does not
// depend on timing. Exits with the suite's status; the burners are killed in every case.
import { spawn } from 'node:child_process';

const BURNERS = 2;
const burners = Array.from({ length: BURNERS }, () =>
  spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
);
const stopBurners = () => {
  for (const b of burners) b.kill('SIGKILL');
};
// Ctrl-C or a CI cancel must not leave the burners spinning.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (stopBurners(), process.exit(130)));

console.log(`stress: ${BURNERS} CPU burners running (pids ${burners.map((b) => b.pid).join(', ')})`);
const started = Date.now();
const suite = spawn('npm', ['test'], { stdio: 'inherit' });
const code = await new Promise((resolve) => suite.on('close', (c) => resolve(c ?? 1)));
stopBurners();
console.log(`stress: npm test exited ${code} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = code;
