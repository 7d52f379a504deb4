/**
 * TypeScript sources that are expensive for the compiler, for the tests of server-side builds
 * (src/build/pool.test.ts, test/e2e/build-budget.test.ts).
 */

/**
 * A TypeScript module of about `bytes` whose every function the checker must infer and relate:
 * ~1 s of checking per 25 KB on a quiet core, seconds of blocked event loop were it on the loop.
 */
export function bigTypeScript(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const prev = Math.max(0, i - 1);
    const part =
      `interface I${i} { a: number; b: string; next: I${prev} | null }\n` +
      `export function f${i}(x: I${i}): number {\n` +
      `  const ys: Array<I${i}> = [x, { ...x, b: x.b + '${i}' }];\n` +
      `  return ys.map((y) => y.a + (y.next ? f${prev}(y.next as I${prev}) : 0)).reduce((p, q) => p + q, 0);\n` +
      `}\n`;
    parts.push(part);
    size += part.length;
  }
  parts.push(
    `export default { fetch(): Response { return new Response(String(f0({ a: 1, b: '', next: null }))); } };\n`,
  );
  return parts.join('');
}

/** `type T = { a: { a: ... number ... } }`, `depth` levels. */
export function deepType(depth: number): string {
  return (
    `type T = ${'{ a: '.repeat(depth)}number${' }'.repeat(depth)};\n` +
    `export const t: T | null = null;\n` +
    `export default { fetch(): Response { return new Response('deep'); } };\n`
  );
}
