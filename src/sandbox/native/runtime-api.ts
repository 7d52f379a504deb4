/**
 * The AWS Lambda Runtime API for one sandbox (docs/native-driver.md), served by the node on a
 * Unix socket in the sandbox's run directory (in unsafe mode, on a loopback port). The runtime
 * long-polls `invocation/next`, then posts the response or the error of that invocation; one
 * invocation is handed out at a time, as Lambda does. Bodies are read under a cap, never whole.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod } from 'node:fs/promises';
import type { Invocation, InvocationResult } from './types.js';

const PREFIX = '/2018-06-01/runtime';
/** The largest error document a runtime may post. (bytes) */
const MAX_ERROR_BYTES = 256 * 1024;

export interface RuntimeApiOptions {
  /** The largest response a function may post; beyond it the invocation fails. (bytes) */
  maxResponseBytes: number;
}

export interface InitError {
  errorType: string;
  errorMessage: string;
}

interface Pending {
  inv: Invocation;
  settle: (result: InvocationResult) => void;
  /** Handed to the runtime (by a `next` it answered). */
  sent: boolean;
}

export class RuntimeApi {
  readonly #server: Server;
  readonly #queue: Pending[] = [];
  /** The invocation handed out and not yet answered. */
  #current: Pending | undefined;
  /** A `next` request waiting for work. */
  #parked: ServerResponse | undefined;
  #closed = false;
  #readyResolve!: () => void;
  #initResolve!: (e: InitError) => void;
  /** Resolves at the runtime's first `next`: it booted and asks for work. */
  readonly ready = new Promise<void>((resolve) => (this.#readyResolve = resolve));
  /** Resolves if the runtime posts `init/error`. */
  readonly initError = new Promise<InitError>((resolve) => (this.#initResolve = resolve));

  constructor(private readonly options: RuntimeApiOptions) {
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch(() => {
        if (!res.headersSent)
          reply(res, 500, { errorType: 'ServiceException', errorMessage: 'internal error' });
      });
    });
    // The runtime's keep-alive connection may idle between invocations for as long as it likes.
    this.#server.keepAliveTimeout = 0;
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 60_000;
  }

  /** Listens on a Unix socket path (returns 0) or a loopback port (returns the port). */
  async listen(target: string | { host: string; port: number }): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      if (typeof target === 'string') this.#server.listen(target, resolve);
      else this.#server.listen(target.port, target.host, resolve);
    });
    // The sandbox's user is not the node's; nobody else can reach the run directory.
    if (typeof target === 'string') await chmod(target, 0o666);
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Whether a `next` is waiting: the runtime is idle. */
  get parked(): boolean {
    return this.#parked !== undefined;
  }

  /**
   * Queues one invocation; resolves with what the runtime posts for it. Aborting withdraws it if
   * it was not handed out yet (once it was, only the sandbox's death ends it).
   */
  invoke(inv: Invocation, signal?: AbortSignal): Promise<InvocationResult> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve(closedResult());
      const pending: Pending = { inv, settle: resolve, sent: false };
      this.#queue.push(pending);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(pending);
          if (i >= 0) this.#queue.splice(i, 1);
          if (this.#current === pending) this.#current = undefined;
          resolve({
            type: 'error',
            errorType: 'Procyon.Aborted',
            errorMessage: 'the invocation was withdrawn',
          });
        },
        { once: true },
      );
      this.#dispatch();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#parked?.destroy();
    this.#parked = undefined;
    for (const p of [...this.#queue.splice(0), ...(this.#current ? [this.#current] : [])])
      p.settle(closedResult());
    this.#current = undefined;
    this.#server.closeAllConnections();
    this.#server.close();
  }

  /** Hands the next queued invocation to a parked `next`, if both exist and none is out. */
  #dispatch(): void {
    const res = this.#parked;
    if (!res || this.#current || this.#queue.length === 0) return;
    const pending = this.#queue.shift() as Pending;
    this.#parked = undefined;
    this.#current = pending;
    pending.sent = true;
    const { inv } = pending;
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': inv.payload.byteLength,
      'lambda-runtime-aws-request-id': inv.requestId,
      'lambda-runtime-deadline-ms': String(inv.deadlineMs),
      'lambda-runtime-invoked-function-arn': inv.functionArn,
      'lambda-runtime-trace-id': inv.traceId,
      ...inv.headers,
    });
    res.end(inv.payload);
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === `${PREFIX}/invocation/next`) {
      if (req.method !== 'GET') return reply(res, 405, error('MethodNotAllowed', 'use GET'));
      return this.#next(req, res);
    }
    if (path === `${PREFIX}/init/error`) {
      if (req.method !== 'POST') return reply(res, 405, error('MethodNotAllowed', 'use POST'));
      const body = await readBody(req, MAX_ERROR_BYTES);
      this.#initResolve(parseError(body, req, 'Runtime.InitError'));
      return reply(res, 202, { status: 'OK' });
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (!m) return reply(res, 404, error('NotFound', `no such Runtime API path: ${path.slice(0, 200)}`));
    if (req.method !== 'POST') return reply(res, 405, error('MethodNotAllowed', 'use POST'));
    const id = decodeURIComponent(m[1] ?? '');
    const current = this.#current;
    if (!current || current.inv.requestId !== id) {
      req.resume();
      return reply(res, 400, error('InvalidRequestID', `no invocation ${id.slice(0, 100)} is in flight`));
    }
    if (m[2] === 'response') {
      const body = await readBody(req, this.options.maxResponseBytes);
      if (body === null) {
        this.#finish(current, {
          type: 'error',
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `the response exceeds ${this.options.maxResponseBytes} bytes`,
        });
        return reply(
          res,
          413,
          error('RequestEntityTooLarge', `the response exceeds ${this.options.maxResponseBytes} bytes`),
        );
      }
      this.#finish(current, { type: 'response', body });
    } else {
      const body = await readBody(req, MAX_ERROR_BYTES);
      const e = parseError(body, req, 'Unhandled');
      this.#finish(current, { type: 'error', ...e, ...stackOf(body) });
    }
    return reply(res, 202, { status: 'OK' });
  }

  #next(req: IncomingMessage, res: ServerResponse): void {
    this.#readyResolve();
    if (this.#closed) return void res.destroy();
    // A runtime asking again has given up on what it held: Lambda would call that a crash, but
    // an unanswered invocation must still end, so it is failed rather than left waiting.
    if (this.#current?.sent)
      this.#finish(this.#current, {
        type: 'error',
        errorType: 'Runtime.NoResponse',
        errorMessage: 'the runtime asked for the next invocation without answering this one',
      });
    this.#parked?.destroy();
    this.#parked = res;
    // A runtime that goes away while parked must not take the next invocation with it.
    res.once('close', () => {
      if (this.#parked === res) this.#parked = undefined;
    });
    this.#dispatch();
  }

  #finish(pending: Pending, result: InvocationResult): void {
    if (this.#current === pending) this.#current = undefined;
    pending.settle(result);
    this.#dispatch();
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(errorType: string, errorMessage: string): { errorType: string; errorMessage: string } {
  return { errorType, errorMessage };
}

function closedResult(): InvocationResult {
  return { type: 'error', errorType: 'Procyon.SandboxClosed', errorMessage: 'the sandbox is gone' };
}

/** The body, or null once it passes `limit` bytes (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
    });
    req.once('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Lambda's error document `{errorType, errorMessage}`; tolerant of anything else. */
function parseError(body: Buffer | null, req: IncomingMessage, fallbackType: string): InitError {
  const header = req.headers['lambda-runtime-function-error-type'];
  let doc: { errorType?: unknown; errorMessage?: unknown } = {};
  try {
    doc = JSON.parse(body?.toString('utf8') ?? '{}') as typeof doc;
  } catch {
    doc = { errorMessage: body?.toString('utf8').slice(0, 4096) ?? '' };
  }
  const errorType =
    typeof doc.errorType === 'string' ? doc.errorType : typeof header === 'string' ? header : fallbackType;
  const errorMessage = typeof doc.errorMessage === 'string' ? doc.errorMessage : '';
  return { errorType: errorType.slice(0, 256), errorMessage: errorMessage.slice(0, 16 * 1024) };
}

function stackOf(body: Buffer | null): { stackTrace?: string[] } {
  try {
    const doc = JSON.parse(body?.toString('utf8') ?? '{}') as { stackTrace?: unknown };
    if (Array.isArray(doc.stackTrace)) return { stackTrace: doc.stackTrace.slice(0, 100).map(String) };
  } catch {
    // not JSON: no stack
  }
  return {};
}
