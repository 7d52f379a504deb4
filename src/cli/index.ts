/**
 * The whole `procyon` command, runnable in-process: main.ts runs it with the process's own io,
 * tests with buffers (no `node` start per command).
 */
import { Readable } from 'node:stream';
import { processIo, type CliIo } from './io.js';
import { createProgram, run } from './program.js';
import { serveCommand } from './serve.js';

export type { CliIo } from './io.js';

/**
 * Runs `procyon <args>` and resolves to its exit code. Io not given is this process's own, except
 * stdin, which is empty (as a script's) unless given.
 */
export function runCli(args: string[], io: Partial<CliIo> = {}): Promise<number> {
  const program = createProgram({ ...processIo(), stdin: Readable.from([]), ...io });
  program.addCommand(serveCommand());
  return run(program, ['node', 'procyon', ...args]);
}
