/**
 * The in-isolate runtime prelude. Bundled by scripts/build.mjs into dist/runtime/prelude.js, one
 * classic script that the isolate host evaluates once into an isolated-vm snapshot; every isolate
 * starts from that snapshot. So this code uses no Node API, reads nothing the host sets up, and keeps
 * no per-request state outside the current call.
 *
 * It installs the web-standard globals (globals.ts) and `globalThis.__procyon`, the host's entry
 * points (host.ts), which the host takes a reference to and then deletes.
 *
 * Snapshot rule: snapshots made by isolated-vm 5 on Node 20 restore one-character strings as other
 * one-character strings (a global named `f` comes back as `8`, a function compiled while the snapshot
 * was made returns "E8" for ':' + '/'). So code that runs while the snapshot is made — module top
 * levels and what they call — must not use one-letter module-level names, one-character string
 * literals or one-character property keys. Code that first runs inside a user's isolate is not
 * affected. test/runtime/snapshot.test.ts checks the bundle for this.
 */
import { defineGlobal } from './define.js';
import { installGlobals } from './globals.js';
import { createRuntime } from './host.js';
import { LogSink } from './logs.js';

const sink = new LogSink();
installGlobals(sink);
defineGlobal('__procyon', Object.freeze(createRuntime(sink)));
