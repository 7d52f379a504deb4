/** Target: a plain Node `http` server in a child process (plain-server.ts). */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Target } from './index.js';
import { stopChild } from './process.js';

export async function startPlain(): Promise<Target> {
  const proc = fork(fileURLToPath(new URL('./plain-server.js', import.meta.url)), { stdio: 'inherit' });
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('message', (m: { url: string }) => resolve(m.url));
    proc.once('exit', (code) => reject(new Error(`plain server exited (${code}) before listening`)));
  });
  return { url, pid: proc.pid as number, stop: () => stopChild(proc) };
}
