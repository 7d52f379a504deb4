// Build: transpile every TypeScript file to dist/ (one output per input, ESM, sourcemaps), and
// bundle the in-isolate runtime prelude into one classic script that the isolate host snapshots.
// Type checking is `npm run typecheck` (tsc); esbuild only strips types, which keeps builds fast.
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

rmSync('dist', { recursive: true, force: true });
const roots = ['src', 'bench', 'test'];
const entryPoints = roots.flatMap((r) => walk(r)).filter((p) => !p.startsWith(join('src', 'runtime')));

await build({
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});

// The prelude runs inside V8 isolates: no Node APIs, no module system, evaluated once into a snapshot.
await build({
  entryPoints: ['src/runtime/index.ts'],
  outfile: 'dist/runtime/prelude.js',
  bundle: true,
  format: 'iife',
  platform: 'neutral',
  target: 'es2022',
  minify: false,
  logLevel: 'warning',
});
