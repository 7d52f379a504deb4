/**
 * `env.procs` (docs/processes.md): stubs for process instances by class and name, on the env of
 * every function and process. A stub's methods are bridge calls the node forwards to the
 * instance's mailbox; a process's own stubs also pass through its output gate and release its
 * input gate while they wait (process.ts). The stubs carry no per-call state unless given a call
 * id, so the one shared frozen env of a function without bindings can hold them.
 *
 * Snapshot rule (see index.ts): this module runs while the snapshot is made.
 */
import type { HttpRequestData } from '../sandbox/types.js';
import { callToken, hostCall } from './bridge.js';
import { Request } from './request.js';
import { Response } from './response.js';

const NULL_BODY_STATUS = [101, 103, 204, 205, 304];

/** A Request as the wire data the node takes (body read whole). */
export async function requestToWire(args: ConstructorParameters<typeof Request>): Promise<HttpRequestData> {
  const request = new Request(...args);
  const body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => headers.push([name, value]));
  return { method: request.method, url: request.url, headers, body };
}

export function responseFromWire(reply: {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}): Response {
  const nullBody = NULL_BODY_STATUS.includes(reply.status);
  return new Response(nullBody ? null : reply.body, { status: reply.status, headers: reply.headers });
}

/**
 * What a process does around its out-calls: `beforeSend` is its output gate (nothing leaves before
 * its earlier writes are durable), `around` lets its other events run while it waits.
 */
export interface OutCallHooks {
  beforeSend(): Promise<void>;
  around<T>(call: () => Promise<T>): Promise<T>;
}

const NO_HOOKS: OutCallHooks = { beforeSend: () => Promise.resolve(), around: (call) => call() };

/** `env.procs`: process instances by class and name (docs/processes.md). */
export class ProcsBinding {
  readonly #callId: number | undefined;
  readonly #hooks: OutCallHooks;

  constructor(callId: number | undefined, hooks: OutCallHooks = NO_HOOKS) {
    this.#callId = callId;
    this.#hooks = hooks;
  }

  get(className: unknown, name: unknown): ProcStub {
    if (typeof className !== 'string' || typeof name !== 'string')
      throw new TypeError('procs.get(className, name) takes two strings');
    return new ProcStub([className, name], this.#callId, this.#hooks);
  }
}

export class ProcStub {
  readonly #target: [string, string];
  readonly #callId: number | undefined;
  readonly #hooks: OutCallHooks;

  constructor(target: [string, string], callId: number | undefined, hooks: OutCallHooks) {
    this.#target = target;
    this.#callId = callId;
    this.#hooks = hooks;
  }

  /** Sends `send(token)` to the instance, the token taken now. */
  #out<T>(send: (token: number) => Promise<T>): Promise<T> {
    const token = callToken(this.#callId);
    // The output gate first, still holding the input gate: other events' writes made while this
    // one waited for its own must not delay its call, nor their failures fail it.
    return this.#hooks.beforeSend().then(() => this.#hooks.around(() => send(token)));
  }

  async fetch(...args: ConstructorParameters<typeof Request>): Promise<Response> {
    const wire = await requestToWire(args);
    const reply = await this.#out((token) => hostCall('procs.fetch', [...this.#target, wire], token));
    return responseFromWire(reply);
  }

  call(message: unknown): Promise<unknown> {
    return this.#out((token) => hostCall('procs.call', [...this.#target, message], token));
  }

  async send(message: unknown): Promise<void> {
    await this.#out((token) => hostCall('procs.send', [...this.#target, message], token));
  }
}

/**
 * Puts `procs` on an env, not enumerable: `Object.keys(env)` keeps listing only the function's
 * own vars, secrets and bindings.
 */
export function withProcs<T extends object>(env: T, procs: ProcsBinding): T {
  return Object.defineProperty(env, 'procs', { value: procs, enumerable: false });
}
