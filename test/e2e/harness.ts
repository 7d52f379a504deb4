/**
 * A node in its own process, started the way a user starts one (`procyon serve` on port 0), and
 * runners for the `procyon` CLI: in-process (most tests) and as a child process of bin/procyon.js. For e2e tests that need real signals, real exit
 * codes or the CLI; tests that only need HTTP can use the in-process node in node.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { runCli as runCliInProcess } from '../../src/cli/index.js';

/** The compiled CLI entry (this file runs from dist/test/e2e/). */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The installed command, which imports CLI_MAIN. */
export const CLI_BIN = fileURLToPath(new URL('../../../bin/procyon.js', import.meta.url));

export interface StartOptions {
  /** Reuse a data folder (e.g. to test a restart); a fresh one otherwise. */
  dataDir?: string;
  /** More `serve` flags. */
  args?: string[];
  /** Added to the environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * How long to wait for the ready file: only bounds how long a broken start takes to fail; a
   * node starting beside a busy suite on two cores has taken over 30 s. @default 120000 (ms)
   */
  readyTimeoutMs?: number;
}

export interface NodeProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The admin key the node wrote to `<dataDir>/admin.key`. */
  key: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the node printed so far (stdout and stderr), for failure messages. */
  output: () => string;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`, default 15000 ms). */
  stop: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startNode(opts: StartOptions = {}): Promise<NodeProcess> {
  const root = mkdtempSync(join(tmpdir(), 'procyon-e2e-node-'));
  const dataDir = opts.dataDir ?? join(root, 'data');
  const readyFile = join(root, 'ready.json');
  const proc = spawn(
    process.execPath,
    [
      CLI_MAIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--ready-file',
      readyFile,
      ...(opts.args ?? []),
    ],
    { env: { ...process.env, PROCYON_LOG_LEVEL: 'warn', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    // Bounded: a crash loop must not eat the test runner's memory.
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (exit = e));

  const stop = async (
    timeoutMs = 15_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (exit) return exit;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exit) throw new Error(`node exited (${exit.code ?? exit.signal}) before it was ready:\n${output}`);
    const ready = readReady(readyFile);
    if (ready) {
      return {
        url: ready.url,
        key: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
        dataDir,
        proc,
        output: () => output,
        stop,
      };
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`node not ready after ${opts.readyTimeoutMs ?? 120_000} ms:\n${output}`);
    }
    await sleep(50);
  }
}

/** Calls the node's control API (`/api/v1` + `path`) with its admin key. */
export function nodeApi(node: NodeProcess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${node.key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function readReady(path: string): { url: string; pid: number } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { url: string; pid: number };
  } catch {
    // Not there yet, or half written: try again.
    return undefined;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The whole environment of the CLI process (not merged with the test runner's). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** What the in-process CLI reads on stdin. @default '' */
  input?: string;
  /** Kill a CLI process after this long (child processes only). @default 30000 (ms) */
  timeoutMs?: number;
}

/**
 * Runs `procyon <args>` to completion in this process (src/cli `runCli`): the CLI's behaviour
 * without a `node` start per command. Stdin is `input` (or empty), not a TTY, as in a script.
 */
export async function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const text = (chunk: string | Uint8Array): string =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  const code = await runCliInProcess(args, {
    stdout: { write: (c) => (stdout += text(c)) },
    stderr: { write: (c) => (stderr += text(c)) },
    stdin: Readable.from(opts.input === undefined ? [] : [Buffer.from(opts.input)]),
    env: opts.env,
    cwd: opts.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}

/** Runs `bin/procyon.js <args>` as its own process to completion: for what only a process shows. */
export async function runCliProcess(args: string[], opts: CliOptions): Promise<CliResult> {
  const proc = spawnCli(args, opts);
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Starts `procyon <args>` and leaves it running (e.g. `logs --follow`). */
export function spawnCli(args: string[], opts: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI_BIN, ...args], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
