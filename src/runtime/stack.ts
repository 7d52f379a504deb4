/**
 * Stack traces as users should see them: without the prelude's own frames (`at runFetch
 * (procyon:prelude.js:…)`), which say nothing about their code. The prelude learns its own script
 * name from a stack trace the first time it is needed, inside the isolate (the host picks the name).
 */

let ownScript: string | null = null;

function preludeScriptName(): string | null {
  if (ownScript !== null) return ownScript;
  // User code may have set Error.stackTraceLimit or Error.prepareStackTrace: then no trimming.
  const stack: unknown = new Error().stack;
  const frame = typeof stack === 'string' ? (stack.split('\n')[1] ?? '') : '';
  const match = /\((.+):\d+:\d+\)$/.exec(frame) ?? /at (.+):\d+:\d+$/.exec(frame);
  ownScript = match?.[1] ?? null;
  return ownScript;
}

/** Drops the stack lines that point into the prelude; returns the stack unchanged otherwise. */
export function trimStack(stack: string): string {
  const name = preludeScriptName();
  if (name === null) return stack;
  return stack
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) || !(line.includes(`(${name}:`) || line.includes(`at ${name}:`)))
    .join('\n');
}
