/**
 * Puts the web-standard API on the global object, one line per API family; each family lives in
 * its own module, so the full web runtime grows this list rather than this file. Returns nothing
 * the host needs: the host contract is in host.ts.
 */
import { atob, btoa } from './base64.js';
import { createConsole } from './console.js';
import { defineGlobal } from './define.js';
import { DOMException } from './dom-exception.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { format } from './format.js';
import { Headers } from './headers.js';
import type { LogSink } from './logs.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { defineLazyUrlGlobal } from './url.js';

export function installGlobals(sink: LogSink): void {
  defineGlobal('self', globalThis);
  defineGlobal('console', createConsole(sink));
  defineGlobal('DOMException', DOMException);
  defineGlobal('atob', atob);
  defineGlobal('btoa', btoa);
  defineGlobal('TextEncoder', TextEncoder);
  defineGlobal('TextDecoder', TextDecoder);
  defineLazyUrlGlobal('URL');
  defineLazyUrlGlobal('URLSearchParams');
  defineGlobal('Headers', Headers);
  defineGlobal('Request', Request);
  defineGlobal('Response', Response);
  if (typeof (globalThis as { queueMicrotask?: unknown }).queueMicrotask !== 'function') {
    defineGlobal('queueMicrotask', (callback: () => void): void => {
      if (typeof callback !== 'function') throw new TypeError('queueMicrotask: callback is not a function');
      // An exception in a microtask is reported, as browsers do, instead of vanishing.
      Promise.resolve()
        .then(() => callback())
        .catch((err: unknown) => sink.write('error', `Uncaught ${format([err])}`));
    });
  }
}
