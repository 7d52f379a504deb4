/**
 * Deploys the bundled examples on a node's first start, from a folder holding a manifest
 * (`procyon.json` / `procyon.toml`, see src/manifest) that lists them under `functions`.
 */
import { basename, extname, join } from 'node:path';
import { bundleEntry, formatBuildError } from '../build/index.js';
import type { FunctionService } from '../control/index.js';
import { ProcyonError } from '../errors.js';
import { readManifest } from '../manifest/index.js';
import { packDirectory } from '../artifacts/index.js';

/**
 * Deploys every example; programs for the native driver only where it can run them (`programs`),
 * the rest are returned as skipped.
 */
export async function deployExamples(
  dir: string,
  namespace: string,
  functions: FunctionService,
  programs: boolean,
): Promise<{ deployed: string[]; skipped: string[] }> {
  const manifest = await readManifest(dir);
  if (!manifest)
    throw new ProcyonError('PROCYON_CONFIG_INVALID', `${dir} has no procyon.json or procyon.toml`);
  const deployed: string[] = [];
  const skipped: string[] = [];
  for (const f of manifest.functions) {
    const name = f.name ?? f.process ?? basename(f.main, extname(f.main));
    if (f.runtime) {
      if (!programs) {
        skipped.push(name);
        continue;
      }
      const { main, name: _name, process: _process, ...config } = f;
      await functions.deploy(namespace, { ...config, name, artifact: await packDirectory(join(dir, main)) });
      deployed.push(name);
      continue;
    }
    const built = await bundleEntry(join(dir, f.main));
    if (!built.ok)
      throw new ProcyonError('PROCYON_BUILD_FAILED', `example ${name}: ${formatBuildError(built.error)}`);
    const { main, name: _name, process, ...config } = f;
    await functions.deploy(namespace, {
      ...config,
      ...(process ? { process: { className: process } } : {}),
      name,
      code: built.code,
      filename: `${basename(main, extname(main))}.js`,
    });
    deployed.push(name);
  }
  return { deployed, skipped };
}
