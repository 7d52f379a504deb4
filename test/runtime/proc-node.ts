/**
 * An in-memory stand-in for the node's side of a process instance's bridge operations
 * (docs/processes.md, wire table), for runtime tests: storage, alarms and `procs.*`, with every
 * operation recorded, operations that can be held until the test releases them, and failures
 * the test injects.
 */
import type { ProcOptions } from './harness.js';

export interface FakeNode {
  data: Map<string, unknown>;
  /** Every operation, in the order the isolate asked for them. */
  ops: string[];
  /** Arguments of every operation, in the same order. */
  calls: { op: string; args: unknown[] }[];
  alarm: number | null;
  /** Holds the next operations named `op` until `release(op)`. */
  hold(op: string): void;
  /** Answers the held operations named `op` and stops holding it. */
  release(op: string): void;
  /** Makes the next operation named `op` fail with this message and Procyon code. */
  fail(op: string, message: string, code?: string): void;
  /** Answers `procs.*` operations (className, name, payload). */
  procs: (op: string, args: unknown[]) => unknown;
  host: NonNullable<ProcOptions['host']>;
}

interface ListQuery {
  prefix?: string;
  start?: string;
  end?: string;
  limit?: number;
  reverse?: boolean;
}

export function fakeNode(): FakeNode {
  const held = new Map<string, (() => void)[] | null>();
  const failures = new Map<string, Error>();
  const node: FakeNode = {
    data: new Map(),
    ops: [],
    calls: [],
    alarm: null,
    hold: (op) => void held.set(op, []),
    release(op) {
      const waiting = held.get(op) ?? [];
      held.delete(op);
      for (const go of waiting) go();
    },
    fail: (op, message, code) => void failures.set(op, Object.assign(new Error(message), { code })),
    procs: (op, args) => ({ op, args }),
    host: (op, args) => {
      node.ops.push(op);
      node.calls.push({ op, args });
      const waiting = held.get(op);
      if (waiting) return new Promise((go) => waiting.push(() => go(answer(op, args))));
      return answer(op, args);
    },
  };
  function answer(op: string, args: unknown[]): unknown {
    const failed = failures.get(op);
    if (failed) {
      failures.delete(op);
      throw failed;
    }
    if (op === 'storage.get')
      return (args[0] as string[]).filter((k) => node.data.has(k)).map((k) => [k, node.data.get(k)]);
    if (op === 'storage.write') return (args[0] as Record<string, unknown>[]).map(writeOne);
    if (op === 'storage.list') return list(args[0] as ListQuery);
    if (op === 'alarm.get') return node.alarm;
    if (op === 'alarm.set' || op === 'alarm.delete') {
      node.alarm = op === 'alarm.set' ? (args[0] as number) : null;
      return null;
    }
    if (op.startsWith('procs.')) return node.procs(op, args);
    throw new Error(`unexpected ${op}`);
  }
  function writeOne(o: Record<string, unknown>): boolean {
    if (typeof o.put === 'string') node.data.set(o.put, o.value);
    else if (typeof o.delete === 'string') return node.data.delete(o.delete);
    else node.data.clear();
    return true;
  }
  function list(q: ListQuery): [string, unknown][] {
    // ASCII keys only in these tests: JavaScript order is the node's byte order.
    let keys = [...node.data.keys()].sort();
    keys = keys.filter(
      (k) =>
        (q.prefix === undefined || k.startsWith(q.prefix)) &&
        (q.start === undefined || k >= q.start) &&
        (q.end === undefined || k < q.end),
    );
    if (q.reverse) keys.reverse();
    return keys.slice(0, q.limit ?? keys.length).map((k) => [k, node.data.get(k)]);
  }
  return node;
}
