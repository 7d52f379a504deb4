/**
 * The prelude's side of the host contract (see contract.ts): `init`, `bind`, `dispatch`, `pull`,
 * `settle` and `end`, the object the host finds at `globalThis.__procyon`. State here is per
 * isolate (the log sink, the bound module) plus the calls in flight (calls.ts), each with its own
 * streamed body and waitUntil promises, kept from its dispatch until the host ends it; a call that
 * has neither is forgotten as soon as its dispatch returns.
 */
import type { HandlerStyle } from '../sandbox/types.js';
import { bindModule, runEvent, runFetch, type BoundModule, type CallScope } from './adapters.js';
import { bindProcess, runProcess, type BoundProcess } from './process.js';
import type { CallRegistry, InFlightCall } from './calls.js';
import type {
  BindMeta,
  CallOptions,
  DispatchInput,
  DispatchResult,
  HostLog,
  InitOptions,
  ProcyonRuntime,
  PullResult,
  SettleResult,
} from './contract.js';
import { attachHostCall, type HostCallRef } from './bridge.js';
import { failure, messageOf } from './failures.js';
import { format } from './format.js';
import { DEFAULT_LOG_LIMIT_BYTES, type LogSink } from './logs.js';
import { outgoingModule, waitUntilModule } from './lazy.js';
import { installWasmMemoryGuard, report as memoryReport } from './wasm-memory.js';

export function createRuntime(sink: LogSink, calls: CallRegistry): ProcyonRuntime {
  let bound: BoundModule | BoundProcess | null = null;

  async function run(input: DispatchInput, call: CallOptions, scope: CallScope): Promise<DispatchResult> {
    if (bound === null) return failure('PROCYON_INTERNAL', 'dispatch was called before bind');
    if (input === null || typeof input !== 'object')
      return failure('PROCYON_INTERNAL', 'dispatch input must be an object');
    if (bound.style === 'process') return runProcess(bound, input, call, scope);
    if (input.type === 'fetch') {
      if (bound.style !== 'fetch')
        return failure('PROCYON_INTERNAL', 'a fetch request was sent to a handler-style module');
      return runFetch(bound, input.request, call, scope);
    }
    if (input.type === 'event') {
      if (bound.style !== 'handler')
        return failure('PROCYON_INTERNAL', 'an event was sent to a fetch-style module');
      return runEvent(bound, input.event, call, scope);
    }
    return failure(
      'PROCYON_INTERNAL',
      `unknown dispatch input type ${JSON.stringify((input as { type?: unknown }).type)}`,
    );
  }

  function scopeOf(record: InFlightCall): CallScope {
    return {
      sync: (body) => calls.runSync(record, body),
      waitUntil(promise: unknown): void {
        record.waiting ??= new (waitUntilModule().WaitUntil)((err) =>
          sink.write('error', `Uncaught (in waitUntil) ${format([err])}`, record.id),
        );
        record.waiting.add(promise);
      },
      streamBody(stream): void {
        record.stream = new (outgoingModule().OutgoingStream)(stream);
      },
    };
  }

  return {
    init(log: HostLog, options?: InitOptions, call?: HostCallRef): void {
      // Host protocol invariants (init and bind run once per isolate), not user errors.
      if (sink.attached) throw new Error('init was already called');
      if (typeof log !== 'function') throw new TypeError('init needs the host log callback');
      sink.attach(log, options?.logLimitBytes ?? DEFAULT_LOG_LIMIT_BYTES);
      attachHostCall(call, calls);
      // Here, not while the snapshot is made: V8 adds `WebAssembly` to each context it creates.
      installWasmMemoryGuard(options?.memoryLimitBytes);
    },

    bind(namespace: Record<string, unknown>, meta: BindMeta): HandlerStyle {
      if (bound !== null) throw new Error('bind was already called');
      bound = meta?.process ? bindProcess(namespace, meta) : bindModule(namespace, meta);
      return bound.style;
    },

    async dispatch(input: DispatchInput, call: CallOptions): Promise<DispatchResult> {
      const record =
        typeof call === 'object' && call !== null ? calls.start(call.callId, call.logLimitBytes) : null;
      if (record === null)
        return failure('PROCYON_INTERNAL', 'dispatch needs call options with a callId not in flight');
      let result: DispatchResult;
      try {
        result = await run(input, call, scopeOf(record));
      } catch (err) {
        // Only the prelude's own faults get here: user code runs inside try blocks in adapters.
        result = failure('PROCYON_INTERNAL', `the runtime failed: ${messageOf(err)}`);
      }
      const waiting = record.waiting !== null && record.waiting.outstanding > 0;
      if (result.ok && waiting) result.waitUntil = true;
      const memory = memoryReport();
      if (memory.wasmBytes > 0 || memory.exceeded) result.memory = memory;
      // Nothing left for the host to pull or settle: the call needs no `end`.
      if (!result.ok || (!waiting && record.stream === null)) calls.drop(record.id);
      return result;
    },

    async pull(callId: number, maxBytes: number): Promise<PullResult> {
      const record = calls.get(callId);
      const stream = record?.stream;
      if (record === undefined || stream === null || stream === undefined) return { ok: true, value: null };
      // Reading may run the body's source (its pull()) synchronously: that is this call's code.
      return calls.runSync(record, () => stream.pull(maxBytes));
    },

    async settle(callId: number, timeoutMs?: number): Promise<SettleResult> {
      const record = calls.get(callId);
      if (record === undefined) return { pending: 0 };
      // The host settles once it has stopped pulling; a body it did not read to the end is
      // cancelled, which also frees waitUntil work that is blocked writing into it.
      record.stream?.cancel(
        new TypeError('the response stream was cancelled: the client stopped reading it'),
      );
      record.stream = null;
      return record.waiting === null ? { pending: 0 } : record.waiting.settle(timeoutMs);
    },

    end(callId: number): void {
      const record = calls.get(callId);
      if (record === undefined) return;
      calls.drop(callId);
      record.stream?.cancel(new TypeError('the response stream was cancelled: its call ended'));
    },

    memory: memoryReport,
  };
}
