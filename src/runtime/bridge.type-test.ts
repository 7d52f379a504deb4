/**
 * Compile-time checks of `hostCall` against the operation map (src/sandbox/ops/map.ts), run by
 * `npm run typecheck` with the runtime's own tsconfig: each `@ts-expect-error` fails the typecheck
 * if its line compiles. Nothing imports this file, so it is never bundled into the prelude.
 */
import { hostCall, hostCallForCall, hostCallSync } from './bridge.js';

/** Never called: the lines the compiler must refuse, and results typed by the map. */
export async function refusedAtCompileTime(): Promise<void> {
  // @ts-expect-error: no such operation
  await hostCall('kv.gett', ['KV', 'k']);
  // @ts-expect-error: kv.put takes (binding, key, bytes, options)
  await hostCallForCall('kv.put', ['KV', 'k', 'a string, not bytes', {}]);
  // @ts-expect-error: timers.sleep takes (id, ms)
  await hostCall('timers.sleep', [1]);
  // @ts-expect-error: crypto.random answers bytes
  const count: number = hostCallSync('crypto.random', [16]);
  // @ts-expect-error: storage.write answers one boolean per operation
  const written: string[] = await hostCall('storage.write', [[{ deleteAll: true }]]);
  const alarm: number | null = await hostCall('alarm.get', []);
  void [count, written, alarm];
}
