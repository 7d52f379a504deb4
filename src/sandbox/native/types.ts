/**
 * The native driver's inner boundaries (docs/native-driver.md): a sandbox is one OS process tree
 * under bubblewrap and a cgroup (launch.ts, cgroup.ts); the Lambda Runtime API (runtime-api.ts) is
 * how the node hands it invocations. The driver (driver.ts) composes them behind SandboxDriver.
 */
import type { Readable } from 'node:stream';

import type { RuntimeSpec } from '../types.js';

/** Runtimes a native-driver function can declare (`custom`: the artifact's own `bootstrap`). */
export type NativeRuntime = RuntimeSpec['name'];

export const NATIVE_RUNTIMES: readonly NativeRuntime[] = ['nodejs', 'python3', 'custom'];

export interface SandboxLimits {
  /** cgroup memory limit (RSS + page cache + tmpfs). (bytes) */
  memoryBytes: number;
  /** cgroup pids limit: processes and threads. */
  pids: number;
  /** CPU quota in cores (cfs quota / period; cpu.max on v2). */
  cpus: number;
  /** Size of the private tmpfs at /tmp. (bytes) */
  tmpBytes: number;
}

/** A host Unix socket the sandbox reaches as `127.0.0.1:<port>` inside its own network namespace. */
export interface PortForward {
  port: number;
  socket: string;
}

export interface BindMount {
  host: string;
  sandbox: string;
  writable: boolean;
}

export interface LaunchOptions {
  /** Unique per sandbox on the node: names its cgroup and its directory. */
  id: string;
  /** Host directory the launcher owns for this sandbox (created; removed by `kill`). */
  dir: string;
  /** Host directory mounted read-only at /var/task: the unpacked artifact. */
  taskDir: string;
  /** Host directory of the bootstraps Procyon ships (runtimes/), read-only at /opt/procyon. */
  runtimesDir: string;
  /** argv inside the sandbox. */
  command: string[];
  /** The whole environment inside the sandbox: nothing of the node's leaks in. */
  env: Record<string, string>;
  limits: SandboxLimits;
  forwards: PortForward[];
  binds?: BindMount[];
}

export interface SandboxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The cgroup's OOM killer killed a process of this sandbox. */
  oomKilled: boolean;
}

export interface SandboxUsage {
  memoryBytes: number;
  memoryPeakBytes: number;
  cpuMs: number;
  pids: number;
}

/** A running sandbox: its main process (bwrap), the process tree in its cgroup, and its output. */
export interface Sandbox {
  readonly id: string;
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the sandbox's main process has exited (and every process of its cgroup is gone). */
  readonly exited: Promise<SandboxExit>;
  usage(): SandboxUsage;
  /** Changes the cgroup memory limit (a pool sandbox taking on its function's); throws if it cannot. */
  setMemoryLimit(bytes: number): Promise<void>;
  /** A signal to the program (the sandbox's command), e.g. SIGTERM for a cooperative stop. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs every process of the sandbox, waits for them, removes its cgroup and directory. */
  kill(): Promise<SandboxExit>;
}

/** What isolation the node found at start-up (capabilities.ts). */
export interface SandboxLayers {
  /** bubblewrap's version when it runs here, else null. */
  bwrap: string | null;
  /**
   * Whether sandboxes are started with `--disable-userns` (bubblewrap 0.8+ with a user namespace of
   * its own): a program cannot then make nested user namespaces, the kernel surface most local
   * privilege escalations go through. False with an older bubblewrap or a setuid one.
   */
  noNestedUserns: boolean;
  /** socat, which forwards the sandbox's loopback ports to host Unix sockets. */
  socat: boolean;
  cgroup: { version: 1 | 2; memory: boolean; pids: boolean; cpu: boolean } | null;
  /** Started with the explicit development flag: sandboxes are plain child processes. */
  unsafe: boolean;
  /** Why a layer is missing, for the start-up banner (capabilities.ts `describeLayers`). */
  problems?: { bwrap?: string; socat?: string; cgroup?: string };
}

/** One invocation as the Runtime API delivers it on `GET .../invocation/next`. */
export interface Invocation {
  requestId: string;
  /** Epoch ms: `Lambda-Runtime-Deadline-Ms`. */
  deadlineMs: number;
  functionArn: string;
  traceId: string;
  /** The event, as the body of `/next` (JSON). */
  payload: Buffer;
  /**
   * Extra response headers for Procyon's own bootstraps: the handler and environment of a
   * function given to a runtime booted before it knew which function it serves.
   */
  headers?: Record<string, string>;
}

export type InvocationResult =
  | { type: 'response'; body: Buffer }
  | { type: 'error'; errorType: string; errorMessage: string; stackTrace?: string[] };
