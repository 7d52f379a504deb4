/**
 * What kind of thing a deploy makes: a function or a process class (docs/processes.md). The two
 * are named differently (a process class is named like the export it deploys, so it reads as a
 * class in `/p/<ns>/<Class>/<name>`), and only functions take routes. Checked twice: before
 * anything is built (the names and fields), and after the module ran in a throwaway isolate (what
 * it turned out to export).
 */
import { ProcyonError } from '../errors.js';
import { checkClassName } from '../names.js';
import type { HandlerStyle } from '../sandbox/index.js';

export const NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';
const NAME = new RegExp(NAME_PATTERN);

export function assertName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid ${kind} name "${name.slice(0, 80)}": use 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
}

/** The fields of a deploy that decide its kind. */
export interface KindInput {
  name: string;
  routes?: string[] | undefined;
  process?: { className: string } | undefined;
  code?: string | undefined;
  runtime?: string | undefined;
  handler?: string | undefined;
  artifact?: Uint8Array | undefined;
  kv?: Record<string, string> | undefined;
  services?: Record<string, string> | undefined;
  scaling?: { concurrency?: number | undefined } | undefined;
}

/** `file.function` (nodejs) or `package.module.function` (python3): what `_HANDLER` names. */
const HANDLER = /^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}\.[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;

/**
 * A function has a lowercase name; a process class is named like its class, with no routes. A
 * native-driver function (`runtime` set) is a program, not a module: an artifact in place of
 * code, a handler, no bindings (they are isolate globals), one invocation per sandbox at a time.
 */
export function checkKind(input: KindInput): void {
  if (input.runtime !== undefined) return checkProgram(input);
  if (input.artifact !== undefined || input.handler !== undefined)
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      'an artifact and a handler need a runtime (nodejs, python3 or custom)',
    );
  if (!input.process) return assertName('function', input.name);
  checkClassName(input.process.className);
  checkClassName(input.name);
  if (input.routes?.length)
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `a process class takes no routes: its instances are at /p/<namespace>/${input.name}/<name>`,
    );
}

function checkProgram(input: KindInput): void {
  assertName('function', input.name);
  const fail = (message: string): never => {
    throw new ProcyonError('PROCYON_VALIDATION', message);
  };
  if (input.process) fail('a process class is a module for the isolate driver; it takes no runtime');
  if (input.code !== undefined) fail(`a "${input.runtime}" function is deployed as an artifact, not code`);
  if (!input.artifact?.byteLength)
    fail(`a "${input.runtime}" function needs an artifact: a directory, .zip or .tar.gz`);
  if (input.runtime !== 'custom' && !HANDLER.test(input.handler ?? ''))
    fail(`a "${input.runtime}" function needs a handler such as "index.handler" (file.function)`);
  if (
    input.handler !== undefined &&
    (!HANDLER.test(input.handler) || input.handler.split('/').includes('..'))
  )
    fail(`invalid handler "${input.handler.slice(0, 80)}": use file.function, e.g. "index.handler"`);
  if (Object.keys(input.kv ?? {}).length || Object.keys(input.services ?? {}).length)
    fail(
      'KV and service bindings are isolate globals; a native-driver function reaches the node over HTTP instead',
    );
  if ((input.scaling?.concurrency ?? 1) !== 1)
    fail(
      'a native-driver sandbox runs one invocation at a time (the Lambda Runtime API): concurrency must be 1',
    );
}

/**
 * After validation: the module must be what the deploy said it is. The prelude binds a process
 * class only when asked to, so a mismatch means the deploy and the module disagree.
 */
export function checkStyle(input: KindInput, style: HandlerStyle, filename: string): void {
  if ((style === 'process') === (input.process !== undefined)) return;
  throw new ProcyonError(
    'PROCYON_BUILD_FAILED',
    input.process
      ? `${filename}: the module's ${input.process.className} is not a process class`
      : `${filename}: the module is a process class; deploy it with "process": { "className": ... }`,
  );
}
