/**
 * The in-isolate runtime prelude. Bundled by scripts/build.mjs into dist/runtime/prelude.js, one
 * classic script that the isolate host evaluates once into an isolated-vm snapshot; every isolate
 * starts from that snapshot. So this code uses no Node API, reads nothing the host sets up, and keeps
 * no per-request state outside the calls in flight (calls.ts).
 *
 * What it provides (globals.ts has one line per family):
 * - Fetch: Request, Response, Headers; bodies are bytes or ReadableStreams (body.ts, body-init.ts),
 *   read with text/json/arrayBuffer/bytes/blob/formData; Blob, File, FormData with multipart and
 *   urlencoded bodies (blob.ts, form-data.ts, multipart.ts).
 * - Streams: ReadableStream (byte streams, BYOB, tee, pipes, async iteration), WritableStream,
 *   TransformStream, queuing strategies (streams.ts, web-streams-polyfill), TextEncoderStream and
 *   TextDecoderStream (text-streams.ts).
 * - URL and URLSearchParams (url.ts, whatwg-url-minimum), URLPattern (url-pattern.ts,
 *   urlpattern-polyfill); TextEncoder/TextDecoder, atob/btoa, DOMException, console.
 * - Event, CustomEvent, EventTarget (events.ts), AbortController/AbortSignal with any() and
 *   timeout() (abort.ts), structuredClone (clone.ts), performance and navigator (platform.ts),
 *   queueMicrotask and reportError (report.ts).
 * - Host-backed families (host-globals.ts: timers, crypto, fetch) through the bridge (bridge.ts).
 * - `globalThis.__procyon`, the host's entry points (host.ts, contract.ts): init, bind, dispatch,
 *   pull (streamed response bodies, outgoing.ts), settle (ctx.waitUntil, wait-until.ts) and end.
 *   Calls may overlap; calls.ts tracks them and says which call running code belongs to. The
 *   host takes a reference to it and deletes the global.
 *
 * Cold starts: every class and function defined here is deserialised by every new isolate, so
 * families a hello-world call does not need are defined on first use (lazy.ts, and the libraries
 * in url.ts, streams.ts, url-pattern.ts), and the per-call path is run once while the snapshot is
 * made (warm.ts) so that its bytecode is in the snapshot.
 *
 * Snapshot rule: snapshots made by isolated-vm 5 on Node 20 restore one-character strings as other
 * one-character strings (a global named `f` comes back as `8`, a function compiled while the snapshot
 * was made returns "E8" for ':' + '/'). So code that runs while the snapshot is made (module top
 * levels, what they call, and the warmed call path) must not use one-character string, template or
 * regular-expression literals, one-character property names or keys, or one-character variables
 * that a nested function captures; third-party libraries, whose minified code is all of those, load
 * lazily. Code that first runs inside a user's isolate is not affected.
 * test/runtime/snapshot.test.ts audits every function that runs while the snapshot is made.
 */
import { CallRegistry } from './calls.js';
import { defineGlobal } from './define.js';
import { installGlobals } from './globals.js';
import { createRuntime } from './host.js';
import { DEFAULT_LOG_LIMIT_BYTES, LogSink } from './logs.js';
import { endTimersOf } from './timers.js';
import { warmCallPath } from './warm.js';

const calls = new CallRegistry(DEFAULT_LOG_LIMIT_BYTES);
// A call's timers end with it, whatever its outcome (issue 11: a failed call's 10,000 timers fired
// into the next call).
calls.onEnd(endTimersOf);
const sink = new LogSink(calls);
installGlobals(sink);
defineGlobal('__procyon', Object.freeze(createRuntime(sink, calls)));
warmCallPath();
