/**
 * `procyon.json` / `procyon.toml`: a function's deploy configuration kept next to its code, so a
 * deploy is reproducible without a long command line. One function per file, or several under
 * `functions` (as examples/ does). CLI flags override what the manifest says.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { ProcyonError } from '../errors.js';
import { CLASS_NAME_RE } from '../names.js';

const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'use letters, digits and _');
const Count = z.number().int().nonnegative();
const FunctionManifest = z
  .object({
    name: z.string().optional(),
    /** The entry module, relative to the manifest. */
    main: z.string(),
    routes: z.array(z.string()).optional(),
    /** (MB) */
    memory: z.number().int().positive().optional(),
    /** (ms) */
    timeout: z.number().int().positive().optional(),
    vars: z.record(Name, z.string()).optional(),
    kv: z.record(Name, z.string()).optional(),
    services: z.record(Name, z.string()).optional(),
    egress: z
      .object({ allow: z.array(z.string()) })
      .strict()
      .optional(),
    /** The same fields, in the same camelCase, in JSON and TOML; the node checks the ranges. */
    scaling: z
      .object({
        concurrency: Count.optional(),
        minInstances: Count.optional(),
        maxInstances: Count.optional(),
        /** (ms) */
        keepAliveMs: Count.optional(),
      })
      .strict()
      .optional(),
    /** Deploy this export of the module as a process class (docs/processes.md). */
    process: z.string().regex(CLASS_NAME_RE, 'a class name: a letter, then letters, digits or _').optional(),
    /**
     * A native-driver function (docs/native-driver.md): `main` is then a directory, .zip or
     * .tar.gz, run on this runtime.
     */
    runtime: z.enum(['nodejs', 'python3', 'custom']).optional(),
    /** `file.function`, for the nodejs and python3 runtimes. */
    handler: z.string().optional(),
    /** Let a native-driver function's sandbox reach the network, through the egress policy. */
    network: z.boolean().optional(),
  })
  .strict();

export type FunctionManifest = z.infer<typeof FunctionManifest>;

const ManifestList = z.object({ functions: z.array(FunctionManifest) }).strict();

export const MANIFEST_FILES = ['procyon.json', 'procyon.toml'] as const;

/** Reads the manifest in `dir`, if there is one; a malformed one is an error naming the file. */
export async function readManifest(
  dir: string,
): Promise<{ file: string; functions: FunctionManifest[] } | null> {
  for (const name of MANIFEST_FILES) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    let raw: unknown;
    try {
      raw = name.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
    } catch (err) {
      throw new ProcyonError('PROCYON_CONFIG_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
    }
    // A list when it has `functions`, else one function: checked against that shape alone, so an
    // error names the field that is wrong rather than "matches neither".
    const isList = typeof raw === 'object' && raw !== null && 'functions' in raw;
    const parsed = isList ? ManifestList.safeParse(raw) : FunctionManifest.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProcyonError(
        'PROCYON_CONFIG_INVALID',
        `${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const data = parsed.data;
    return { file, functions: 'functions' in data ? data.functions : [data] };
  }
  return null;
}
