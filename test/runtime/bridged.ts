/**
 * Test harness for the host-backed globals (timers, crypto, fetch): an isolate from the prelude
 * snapshot wired, as an isolate host's proc wires it, to the real host bridge table
 * (src/sandbox/isolate/bridges). The evaluated body is one "call": bridge operations act for a
 * BridgeContext whose signal aborts when the body settles (so pending timers and fetches end, as
 * at the end of a real call). Run after `npm run build`.
 */
import ivm from 'isolated-vm';
import { BRIDGES, runBridge, type BridgeContext } from '../../src/sandbox/isolate/bridges/index.js';
import { preludeSnapshot, type LogEntry } from './harness.js';

export interface BridgedOptions {
  /** The call's wall-clock limit: the bridge deadline and the evaluation timeout. @default 5000 (ms) */
  timeoutMs?: number;
  /** The function's `egress.allow`. */
  allow?: string[];
  /** The node's `denyEgress`. @default [] */
  deny?: string[];
  /** @default 30000 (ms) */
  fetchTimeoutMs?: number;
  /** @default 32 MiB (bytes) */
  maxResponseBytes?: number;
}

/**
 * `thrown(fn)` / `rejected(fn)`: "Name: message" of what `fn` throws, or "no error". `until(check)`
 * polls `check` (a deadline, not a guessed sleep, for what must happen); `sleep(ms)` is only for
 * giving what must not happen a chance to.
 */
const HELPERS = `
const thrown = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
const rejected = async (fn) => { try { await fn(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (check, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) { if (Date.now() > end) throw new Error('until: condition not met in ' + ms + ' ms'); await sleep(2); }
};
`;

/** Runs `body` as an async function in a bridged isolate; returns its copied result and the logs. */
export async function evalBridged<T = unknown>(
  body: string,
  options: BridgedOptions = {},
): Promise<{ value: T; logs: LogEntry[] }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const isolate = new ivm.Isolate({ snapshot: preludeSnapshot(), memoryLimit: 64 });
  const abort = new AbortController();
  const logs: LogEntry[] = [];
  const ctx: BridgeContext = {
    activationId: 'act-bridged',
    namespace: 'ns',
    fn: 'fn',
    version: 'v1',
    key: 'ns/fn@v1',
    deadline: Date.now() + timeoutMs,
    signal: abort.signal,
    egress: {
      allow: options.allow ?? [],
      deny: options.deny ?? [],
      timeoutMs: options.fetchTimeoutMs ?? 30_000,
      maxResponseBytes: options.maxResponseBytes ?? 32 * 1024 * 1024,
    },
    rpc: () => Promise.reject(new Error('no node in this harness')),
    log: (level, msg) => logs.push({ level, msg, call: 0 }),
  };
  const current: { ctx: BridgeContext | null } = { ctx };
  try {
    const context = await isolate.createContext();
    const rt = await context.global.get('__procyon', { reference: true });
    await context.eval('delete globalThis.__procyon');
    const init = await rt.get('init', { reference: true });
    const log = new ivm.Callback((level: string, msg: string, call: number) => {
      logs.push({ level, msg, call });
    });
    const bridge = new ivm.Reference((op: unknown, args: unknown) =>
      runBridge(BRIDGES, current.ctx, op, args),
    );
    await init.apply(undefined, [log, new ivm.ExternalCopy({}).copyInto(), bridge]);
    const value = (await context.eval(`(async () => {${HELPERS}\n${body}\n})()`, {
      promise: true,
      copy: true,
      timeout: timeoutMs,
      filename: 'test.js',
    })) as T;
    return { value, logs };
  } finally {
    abort.abort();
    current.ctx = null;
    isolate.dispose();
  }
}
