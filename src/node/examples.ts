/**
 * Deploys the bundled examples on a node's first start, from a folder holding a `procyon.json`
 * manifest: `{ "functions": [{ "name", "file", "routes"?, "memory"?, "timeout"?, "vars"? }] }`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { bundleEntry, formatBuildError } from '../build/index.js';
import type { FunctionService } from '../control/functions.js';

const Manifest = z.object({
  functions: z.array(
    z.object({
      name: z.string(),
      file: z.string(),
      routes: z.array(z.string()).optional(),
      memory: z.number().int().optional(),
      timeout: z.number().int().optional(),
      vars: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

export async function deployExamples(
  dir: string,
  namespace: string,
  functions: FunctionService,
): Promise<string[]> {
  const manifest = Manifest.parse(JSON.parse(await readFile(join(dir, 'procyon.json'), 'utf8')));
  const deployed: string[] = [];
  for (const f of manifest.functions) {
    const built = await bundleEntry(join(dir, f.file));
    if (!built.ok) throw new Error(`example ${f.name}: ${formatBuildError(built.error)}`);
    await functions.deploy(namespace, {
      name: f.name,
      code: built.code,
      filename: f.file.replace(/\.[cm]?tsx?$/, '.js'),
      ...(f.routes ? { routes: f.routes } : {}),
      ...(f.memory ? { memory: f.memory } : {}),
      ...(f.timeout ? { timeout: f.timeout } : {}),
      ...(f.vars ? { vars: f.vars } : {}),
    });
    deployed.push(f.name);
  }
  return deployed;
}
