/**
 * Target: Cloudflare's workerd (the `workerd` npm package's binary) serving the same hello module,
 * from a generated capnp config with one worker and one HTTP socket on a loopback port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELLO, HELLO_BODY } from '../lib.js';
import type { Target, Unavailable } from './index.js';
import { freePort, stopChild, waitForBody } from './process.js';

interface WorkerdPackage {
  /** Path of the platform binary (from the package's platform optionalDependency) */
  default: string;
  /** The newest compatibility date this binary supports */
  compatibilityDate: string;
  version: string;
}

export async function startWorkerd(): Promise<(Target & { version: string }) | Unavailable> {
  let pkg: WorkerdPackage;
  try {
    // CommonJS, and it throws when this platform's binary package is not installed.
    pkg = createRequire(import.meta.url)('workerd') as WorkerdPackage;
  } catch (err) {
    return { unavailable: `workerd is not installed for this platform: ${(err as Error).message}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'procyon-bench-workerd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'hello.js'), HELLO);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const hello :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "${pkg.compatibilityDate}",
);
`,
  );
  const proc = spawn(pkg.default, ['serve', join(dir, 'config.capnp')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForBody(url, HELLO_BODY);
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
  return { url, pid: proc.pid as number, version: pkg.version, stop: () => stopChild(proc) };
}
