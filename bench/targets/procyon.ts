/**
 * Target: a Procyon node started as a user starts one (`procyon serve`, its own process with a
 * data dir and an admin key), serving the hello function on the route `GET /hello`.
 */
import { deploy, HELLO, HELLO_BODY, startNode, type NodeProcess } from '../lib.js';
import { processesRunning } from '../measure.js';
import type { Target, Unavailable } from './index.js';
import { waitForBody } from './process.js';

/** `default`: isolates in isolate host children; `trusted`: inside the node (PROCYON_TRUSTED=1). */
export type ProcyonMode = 'default' | 'trusted';

/** The isolate host entry, as it appears on a host's command line. */
export const HOST_MAIN = 'host-main.js';

export interface ProcyonTarget extends Target {
  node: NodeProcess;
  /** The isolate host processes now (none in trusted mode) */
  hosts(): number[];
}

export async function startProcyon(
  mode: ProcyonMode,
  env: NodeJS.ProcessEnv = {},
): Promise<ProcyonTarget | Unavailable> {
  const node = await startNode({
    env:
      mode === 'trusted'
        ? // Trusted mode runs isolated-vm in the node, which needs the flag the hosts get.
          { PROCYON_TRUSTED: '1', NODE_OPTIONS: '--no-node-snapshot', ...env }
        : env,
  }).catch((err: unknown) => ({ failed: err instanceof Error ? err.message : String(err) }));
  if ('failed' in node) {
    if (mode === 'trusted') return { unavailable: `the node did not start in trusted mode: ${node.failed}` };
    throw new Error(node.failed);
  }
  const pid = node.proc.pid as number;
  const hosts = (): number[] => processesRunning(pid, HOST_MAIN);
  // A node that ignored PROCYON_TRUSTED would be measured as the default mode under the wrong name.
  if (mode === 'trusted' && (!node.output().includes('TRUSTED mode') || hosts().length > 0)) {
    await node.stop();
    return {
      unavailable: 'the node did not honour PROCYON_TRUSTED=1 (no trusted-mode banner, or host processes)',
    };
  }
  await deploy(node, 'hello', HELLO, { routes: ['GET /hello'] });
  const url = `${node.url}/hello`;
  await waitForBody(url, HELLO_BODY);
  return {
    url,
    pid,
    node,
    hosts,
    stop: async () => void (await node.stop()),
  };
}
