/**
 * Puts the web-standard API on the global object, one line per API family; each family lives in
 * its own module (a family with several globals has an install function there). Libraries behind
 * a family load on first use, so this list can grow without growing cold starts. Returns nothing
 * the host needs: the host contract is in host.ts.
 */
import { atob, btoa } from './base64.js';
import { createConsole } from './console.js';
import { defineGlobal, defineLazyGlobal } from './define.js';
import { DOMException } from './dom-exception.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { Headers } from './headers.js';
import { installHostGlobals } from './host-globals.js';
import {
  abortModule,
  blobModule,
  cloneModule,
  eventsModule,
  formDataModule,
  platformModule,
  textStreamsModule,
} from './lazy.js';
import type { LogSink } from './logs.js';
import { installReporting } from './report.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { installStreamGlobals } from './streams.js';
import { installUrlPatternGlobal } from './url-pattern.js';
import { installUrlGlobals } from './url.js';

export function installGlobals(sink: LogSink): void {
  defineGlobal('self', globalThis);
  defineGlobal('console', createConsole(sink));
  installReporting(sink);
  defineGlobal('DOMException', DOMException);
  defineGlobal('atob', atob);
  defineGlobal('btoa', btoa);
  defineGlobal('TextEncoder', TextEncoder);
  defineGlobal('TextDecoder', TextDecoder);
  defineLazyGlobal('TextEncoderStream', textStreamsModule);
  defineLazyGlobal('TextDecoderStream', textStreamsModule);
  installUrlGlobals();
  installUrlPatternGlobal();
  installStreamGlobals();
  defineGlobal('Headers', Headers);
  defineGlobal('Request', Request);
  defineGlobal('Response', Response);
  // Defined on first use: see lazy.ts.
  defineLazyGlobal('Blob', blobModule);
  defineLazyGlobal('File', blobModule);
  defineLazyGlobal('FormData', formDataModule);
  defineLazyGlobal('Event', eventsModule);
  defineLazyGlobal('CustomEvent', eventsModule);
  defineLazyGlobal('EventTarget', eventsModule);
  defineLazyGlobal('AbortController', abortModule);
  defineLazyGlobal('AbortSignal', abortModule);
  defineLazyGlobal('structuredClone', cloneModule);
  defineLazyGlobal('performance', platformModule);
  defineLazyGlobal('navigator', platformModule);
  // Backed by the host (bridge.ts): timers, crypto, fetch.
  installHostGlobals();
}
