/**
 * The `procyon` command tree (everything except `serve`, which main.ts adds) and `run`, which
 * parses argv and turns every failure into one line on stderr plus an exit code: 0 ok, 1 failure,
 * 2 usage error. Stack traces only with PROCYON_DEBUG=1. index.ts builds the whole CLI.
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  activationCommand,
  activationsCommand,
  deleteCommand,
  deployCommand,
  getCommand,
  invokeCommand,
  keyCommand,
  kvCommand,
  listCommand,
  loginCommand,
  logsCommand,
  namespaceCommand,
  nativeCommand,
  procCommand,
  secretCommand,
  topCommand,
  versionsCommand,
} from './commands/index.js';
import { CLI_ENV } from './config.js';
import { withCommonOptions } from './context.js';
import { CliError } from './errors.js';
import { attachIo, ioOf, processIo, type CliIo } from './io.js';

export function createProgram(io: CliIo = processIo()): Command {
  const program = withCommonOptions(new Command('procyon'))
    .description('Serverless functions on your own machines: deploy, invoke and inspect them.')
    .version(packageVersion(), '-V, --version', 'print the CLI version')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Environment:
  ${CLI_ENV.url}, ${CLI_ENV.key}  node and API key when --url/--key are not given
  ${CLI_ENV.configDir}        where profile.json lives (default ~/.config/procyon)
  ${CLI_ENV.dataDir}          a local node's data folder, for its admin.key (default ./.procyon)
  ${CLI_ENV.debug}=1           print stack traces on errors

Run "procyon <command> --help" for a command's options.`,
    );
  for (const cmd of [
    loginCommand(),
    deployCommand(),
    invokeCommand(),
    listCommand(),
    getCommand(),
    versionsCommand(),
    deleteCommand(),
    activationsCommand(),
    activationCommand(),
    logsCommand(),
    secretCommand(),
    kvCommand(),
    procCommand(),
    nativeCommand(),
    namespaceCommand(),
    keyCommand(),
    topCommand(),
  ]) {
    program.addCommand(cmd);
  }
  attachIo(program, io);
  return program;
}

/** Parses `argv` (as process.argv) and runs the command; resolves to the exit code. */
export async function run(program: Command, argv: string[]): Promise<number> {
  const io = ioOf(program);
  configure(program, io);
  try {
    await program.parseAsync(argv);
    // A command may end with a status of its own (`native wait-exit` exits with the proc's code).
    return io.exitCode ?? 0;
  } catch (err) {
    // commander has already printed its message (or the help) through configureOutput.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const line = err instanceof CliError ? err.line() : err instanceof Error ? err.message : String(err);
    io.stderr.write(`procyon: ${line}\n`);
    if (io.env[CLI_ENV.debug] === '1' && err instanceof Error) io.stderr.write(`${err.stack}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

/** `addCommand` does not copy settings to subcommands (only `.command()` does), so walk the tree. */
function configure(cmd: Command, io: CliIo): void {
  cmd.exitOverride().configureOutput({
    writeOut: (str) => io.stdout.write(str),
    writeErr: (str) => io.stderr.write(str),
    outputError: (str, write) => write(`procyon: ${str.replace(/^error: /, '')}`),
  });
  for (const sub of cmd.commands) configure(sub, io);
}

function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'procyon') return pkg.version ?? '0.0.0';
    }
  }
  return '0.0.0';
}
