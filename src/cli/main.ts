/**
 * Entry of the `procyon` command (bin/procyon.js imports the compiled file). Sets the exit code
 * instead of calling process.exit so `serve` keeps running and output is flushed.
 */
import { createProgram, run } from './program.js';
import { serveCommand } from './serve.js';

const program = createProgram();
program.addCommand(serveCommand());
process.exitCode = await run(program, process.argv);
