/**
 * isolated-vm frees its default environment in a Node cleanup hook. A V8 finalizer of an ivm
 * handle that runs after that hook, while the exiting process tears its heap down, aborts the
 * process ("Assertion `environment != nullptr' failed", SIGABRT), even though everything it did
 * succeeded. Seen once in CI, after every test in a file had passed. A process that holds isolates
 * in-process therefore leaves from its 'exit' event through process.exit, which skips the
 * environment teardown (and with it the hook) and keeps the exit code.
 */
export function exitWithoutTeardown(): void {
  process.once('exit', (code) => process.exit(code));
}
