/**
 * Entry point of an isolate host child process: runs a HostRuntime and speaks to the node over
 * the framed pipe on fd 3 (wire.ts). If V8 brings this process down (a heap OOM outside an
 * isolate's limit, a native crash), only this host's in-flight calls fail; the node restarts it.
 */
import { Socket } from 'node:net';
import { HostRuntime } from './host-runtime.js';
import type { FromHost, HostOptions, ToHost } from './protocol.js';
import { encode, readFrames } from './wire.js';

const channel = new Socket({ fd: 3, readable: true, writable: true });
const send = (msg: FromHost): void => void channel.write(encode(msg));
const options = JSON.parse(process.env.PROCYON_HOST_OPTIONS ?? '{}') as HostOptions;
const runtime = new HostRuntime(options, send);

readFrames<ToHost>(channel, (msg) => {
  runtime.handle(msg).catch((err: unknown) => {
    // A bug here must not leave the node waiting forever: crash, and the node restarts us.
    process.stderr.write(`isolate host: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(70);
  });
});

// The node closed the channel (shutdown) or died: nothing left to serve.
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));
send({ t: 'ready', snapshotMs: runtime.snapshotMs });
