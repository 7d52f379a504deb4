/**
 * Shared pieces of the native-driver e2e tests: whether this machine can run them (bubblewrap
 * and socat, which .ci/run installs), and deploying a directory of files as a function.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packDirectory } from '../../src/artifacts/index.js';
import type { ApiBody, TestNode } from './node.js';

/** The one-line reason these tests skip, or false when they run. */
export function sandboxMissing(): string | false {
  const missing = ['bwrap', 'socat'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  return missing.length ? `needs ${missing.join(' and ')} (Debian packages bubblewrap, socat)` : false;
}

/** Writes `files` (path → content; a leading `#!` makes it executable) into a new directory. */
export function program(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-program-'));
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (content.startsWith('#!')) chmodSync(file, 0o755);
  }
  return dir;
}

/** Deploys `files` as a native-driver function through the API. */
export async function deployProgram(
  node: TestNode,
  name: string,
  runtime: 'nodejs' | 'python3' | 'custom',
  files: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; body: ApiBody }> {
  const artifact = (await packDirectory(program(files))).toString('base64');
  return node.api(
    'PUT',
    `/api/v1/namespaces/${(extra.namespace as string | undefined) ?? 'default'}/functions/${name}`,
    {
      runtime,
      artifact,
      ...(runtime === 'custom' ? {} : { handler: 'app.handler' }),
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'namespace')),
    },
  );
}

/** Invokes a function with an event through the API; returns status and body. */
export function invoke(
  node: TestNode,
  name: string,
  event: unknown,
  namespace = 'default',
): Promise<{ status: number; headers: Headers; body: ApiBody }> {
  return node.api('POST', `/api/v1/namespaces/${namespace}/functions/${name}/invoke`, event);
}
