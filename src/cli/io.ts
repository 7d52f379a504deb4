/**
 * What a CLI command reads and writes besides the network: its output streams, stdin, environment
 * and working directory. `bin/procyon.js` gives the process's own; tests give buffers, so they can
 * run commands in-process (`runCli` in program.ts) instead of starting a `node` per command.
 */
import type { Command } from 'commander';

export interface CliIo {
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(chunk: string | Uint8Array): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A command's own exit status (`native wait-exit` exits with the proc's code); `run` returns it. */
  exitCode?: number;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** The io of each program tree, found from any of its commands through `.parent`. */
const attached = new WeakMap<Command, CliIo>();

export function attachIo(program: Command, io: CliIo): void {
  attached.set(program, io);
}

/** The io of the program `cmd` belongs to (the process's own for a command built on its own). */
export function ioOf(cmd: Command): CliIo {
  let root = cmd;
  while (root.parent) root = root.parent;
  return attached.get(root) ?? processIo();
}

/** One line of output to stdout. */
export function say(io: CliIo, text: string): void {
  io.stdout.write(`${text}\n`);
}

/** One line to stderr: notes that must not mix with a command's output. */
export function note(io: CliIo, text: string): void {
  io.stderr.write(`${text}\n`);
}
