/**
 * Entry of the `procyon` command (bin/procyon.js imports the compiled file). Sets the exit code
 * instead of calling process.exit so `serve` keeps running and output is flushed.
 */
import { runCli } from './index.js';
import { processIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
