/**
 * What kind of thing a deploy makes: a function or a process class (docs/processes.md). The two
 * are named differently (a process class is named like the export it deploys, so it reads as a
 * class in `/p/<ns>/<Class>/<name>`), and only functions take routes. Checked twice: before
 * anything is built (the names and fields), and after the module ran in a throwaway isolate (what
 * it turned out to export).
 */
import { ProcyonError } from '../errors.js';
import { checkClassName } from '../procs/names.js';
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
}

/** A function has a lowercase name; a process class is named like its class, with no routes. */
export function checkKind(input: KindInput): void {
  if (!input.process) return assertName('function', input.name);
  checkClassName(input.process.className);
  checkClassName(input.name);
  if (input.routes?.length)
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `a process class takes no routes: its instances are at /p/<namespace>/${input.name}/<name>`,
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
