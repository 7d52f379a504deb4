/**
 * The prelude's side of the host contract (see contract.ts): `init`, `bind`, `dispatch`, `pull` and
 * `settle`, the object the host finds at `globalThis.__procyon`. State here is per isolate (the log
 * sink, the bound module) plus the one current call: its streamed body and its waitUntil promises.
 * Nothing of a call outlives the next call's start.
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
  PullResult,
  SettleResult,
} from './contract.js';
import { attachHostCall, type HostCallRef } from './bridge.js';
import { failure, messageOf } from './failures.js';
import { format } from './format.js';
import { DEFAULT_LOG_LIMIT_BYTES, type LogSink } from './logs.js';
import { outgoingModule, waitUntilModule } from './lazy.js';
import type { OutgoingStream } from './outgoing.js';
import type { WaitUntil } from './wait-until.js';

/** What a call has beyond its response; each part is made only when the call needs it. */
interface CallTail {
  stream: OutgoingStream | null;
  waiting: WaitUntil | null;
}

export function createRuntime(sink: LogSink): ProcyonRuntime {
  let bound: BoundModule | null = null;
  const reportWaitUntil = (err: unknown): void => {
    sink.write('error', `Uncaught (in waitUntil) ${format([err])}`);
  };
  /** The current call's tail; a new call starts a new one. */
  let current: CallTail = { stream: null, waiting: null };

  async function run(input: DispatchInput, call: CallOptions, scope: CallScope): Promise<DispatchResult> {
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
      current.stream?.cancel(new TypeError('the response stream was abandoned: a new call started'));
      const tail: CallTail = { stream: null, waiting: null };
      current = tail;
      const scope: CallScope = {
        waitUntil(promise: unknown): void {
          tail.waiting ??= new (waitUntilModule().WaitUntil)(reportWaitUntil);
          tail.waiting.add(promise);
        },
        streamBody(stream): void {
          tail.stream = new (outgoingModule().OutgoingStream)(stream);
        },
      };
      sink.startCall(call?.logLimitBytes);
      let result: DispatchResult;
      try {
        result = await run(input, call, scope);
      } catch (err) {
        // Only the prelude's own faults get here: user code runs inside try blocks in adapters.
        result = failure('PROCYON_INTERNAL', `the runtime failed: ${messageOf(err)}`);
      }
      if (result.ok && tail.waiting !== null && tail.waiting.outstanding > 0) result.waitUntil = true;
      return result;
    },

    async pull(maxBytes: number): Promise<PullResult> {
      return current.stream === null ? { ok: true, value: null } : current.stream.pull(maxBytes);
    },

    async settle(timeoutMs?: number): Promise<SettleResult> {
      return current.waiting === null ? { pending: 0 } : current.waiting.settle(timeoutMs);
    },
  };
}
