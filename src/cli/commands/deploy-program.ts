/**
 * `procyon deploy <dir|archive> --runtime ...`: a native-driver function's program. A directory is
 * packed here as a deterministic .tar.gz (the same tree gives the same artifact, so redeploying it
 * changes nothing); a .zip or .tar.gz is sent as it is. The node checks what the runtime needs.
 * The packer (and its tar-stream and yauzl) is loaded only when a directory is packed: every CLI
 * start loads this module, and most commands never pack anything (cli/startup.test.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { CliError, usageError } from '../errors.js';

export const RUNTIMES = ['nodejs', 'python3', 'custom'] as const;
export type Runtime = (typeof RUNTIMES)[number];

const ARCHIVE = /\.(zip|tar\.gz|tgz)$/i;

export function parseRuntime(value: string): Runtime {
  if ((RUNTIMES as readonly string[]).includes(value)) return value as Runtime;
  throw usageError(`invalid --runtime "${value}": use ${RUNTIMES.join(', ')}`);
}

/** The artifact's bytes, base64, as the API takes them. */
export async function readProgram(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw usageError(`${path}: no such file or directory`);
  }
  if (info.isDirectory()) {
    const { packDirectory } = await import('../../artifacts/index.js');
    try {
      return (await packDirectory(path)).toString('base64');
    } catch (err) {
      throw new CliError(`${path}: ${(err as Error).message}`, { code: 'PROCYON_VALIDATION' });
    }
  }
  if (!ARCHIVE.test(path))
    throw usageError(`${path}: a native-driver function is a directory, a .zip or a .tar.gz`);
  return (await readFile(path)).toString('base64');
}
