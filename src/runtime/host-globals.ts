/**
 * The globals backed by the isolate host through bridge.ts: timers, crypto and fetch. One install
 * call for globals.ts; each family lives in its own module.
 */
import { installCryptoGlobals } from './crypto.js';
import { defineGlobal } from './define.js';
import { fetch } from './fetch.js';
import { installTimerGlobals } from './timers.js';

export function installHostGlobals(): void {
  installTimerGlobals();
  installCryptoGlobals();
  defineGlobal('fetch', fetch);
}
