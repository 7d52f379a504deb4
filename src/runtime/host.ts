/**
 * The prelude's side of the host contract (see contract.ts): `init`, `bind` and `dispatch`, the
 * object the host finds at `globalThis.__procyon`. State here is per isolate (the log sink, the
 * bound module) plus the one "current call"; nothing of a call outlives the next call's start.
 */
import type { HandlerStyle } from '../sandbox/types.js';
import { bindModule, runEvent, runFetch, type BoundModule, type CallScope } from './adapters.js';
import type {
  BindMeta,
  CallOptions,
  DispatchInput,
  DispatchResult,
  HostLog,
  InitOptions,
  ProcyonRuntime,
} from './contract.js';
import { attachHostCall, type HostCallRef } from './bridge.js';
import { failure, messageOf } from './failures.js';
import { format } from './format.js';
import { DEFAULT_LOG_LIMIT_BYTES, type LogSink } from './logs.js';

export function createRuntime(sink: LogSink): ProcyonRuntime {
  let bound: BoundModule | null = null;
  /** Promises passed to ctx.waitUntil by the current call, kept referenced until the next call. */
  let pending: Promise<unknown>[] = [];

  const scope: CallScope = {
    waitUntil(promise: unknown): void {
      const p = Promise.resolve(promise).catch((err: unknown) => {
        sink.write('error', `Uncaught (in waitUntil) ${format([err])}`);
      });
      pending.push(p);
    },
  };

  async function run(input: DispatchInput, call: CallOptions): Promise<DispatchResult> {
    if (bound === null) return failure('PROCYON_INTERNAL', 'dispatch was called before bind');
    if (input === null || typeof input !== 'object')
      return failure('PROCYON_INTERNAL', 'dispatch input must be an object');
    if (input.type === 'fetch') {
      if (bound.style !== 'fetch')
        return failure('PROCYON_INTERNAL', 'a fetch request was sent to a handler-style module');
      return runFetch(bound, input.request, call, scope);
    }
    if (input.type === 'event') {
      if (bound.style !== 'handler')
        return failure('PROCYON_INTERNAL', 'an event was sent to a fetch-style module');
      return runEvent(bound, input.event, call);
    }
    return failure(
      'PROCYON_INTERNAL',
      `unknown dispatch input type ${JSON.stringify((input as { type?: unknown }).type)}`,
    );
  }

  return {
    init(log: HostLog, options?: InitOptions, call?: HostCallRef): void {
      if (sink.attached) throw new Error('init was already called');
      if (typeof log !== 'function') throw new TypeError('init needs the host log callback');
      sink.attach(log, options?.logLimitBytes ?? DEFAULT_LOG_LIMIT_BYTES);
      attachHostCall(call);
    },

    bind(namespace: Record<string, unknown>, meta: BindMeta): HandlerStyle {
      if (bound !== null) throw new Error('bind was already called');
      bound = bindModule(namespace, meta);
      return bound.style;
    },

    async dispatch(input: DispatchInput, call: CallOptions): Promise<DispatchResult> {
      pending = [];
      sink.startCall(call?.logLimitBytes);
      try {
        return await run(input, call);
      } catch (err) {
        // Only the prelude's own faults get here: user code runs inside try blocks in adapters.
        return failure('PROCYON_INTERNAL', `the runtime failed: ${messageOf(err)}`);
      }
    },
  };
}
