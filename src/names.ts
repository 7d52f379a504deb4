/**
 * Names of process classes and instances (docs/processes.md). Instance names go into URLs
 * (`/p/:ns/:class/:name`) and proc keys (`ns/Class@version#name`), so they are limited to URL-safe
 * unreserved characters; a class name is a JavaScript identifier because it names an export.
 */
import { ProcyonError } from './errors.js';

/**
 * One instance of a process class. Its name rules live here, below every layer that checks them
 * (the manifest, the API schemas, the CLI, the manager), so none of them loads the procs module.
 */
export interface InstanceAddress {
  namespace: string;
  /** The process class as deployed (its function name). */
  className: string;
  name: string;
}

export const CLASS_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
export const INSTANCE_NAME_RE = /^[A-Za-z0-9._~-]{1,128}$/;

/** Throws 400 PROCYON_VALIDATION unless `name` is a valid process class name. */
export function checkClassName(name: unknown): string {
  if (typeof name !== 'string' || !CLASS_NAME_RE.test(name)) {
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid process class name ${JSON.stringify(name)}: a letter, then up to 62 letters, digits or _`,
    );
  }
  return name;
}

/** Throws 400 PROCYON_VALIDATION unless `name` is a valid instance name. */
export function checkInstanceName(name: unknown): string {
  if (typeof name !== 'string' || !INSTANCE_NAME_RE.test(name) || name === '.' || name === '..') {
    const shown = typeof name === 'string' && name.length > 40 ? `${name.slice(0, 40)}…` : name;
    throw new ProcyonError(
      'PROCYON_VALIDATION',
      `invalid instance name ${JSON.stringify(shown)}: 1 to 128 of A-Z a-z 0-9 . _ ~ - (not "." or "..")`,
    );
  }
  return name;
}

/** Checks both names of an address (the namespace is checked where it is resolved). */
export function checkAddress(address: InstanceAddress): InstanceAddress {
  checkClassName(address.className);
  checkInstanceName(address.name);
  return address;
}
