/**
 * "Report the exception" (HTML): where errors go that no caller can catch, such as an exception in
 * an event listener or a queued microtask. They become an "Uncaught ..." line at level error in the
 * activation's logs. Also the `reportError` and `queueMicrotask` globals (a bare isolate has
 * neither).
 */
import { defineGlobal } from './define.js';
import { format } from './format.js';
import type { LogSink } from './logs.js';

/** The isolate's log sink, given once by installReporting (the prelude has one sink per isolate). */
const target: { sink: LogSink | null } = { sink: null };

export function reportError(err: unknown): void {
  target.sink?.write('error', `Uncaught ${format([err])}`);
}

export function installReporting(sink: LogSink): void {
  target.sink = sink;
  defineGlobal('reportError', function reportError_(err: unknown): void {
    if (arguments.length === 0) throw new TypeError('reportError: 1 argument required, but only 0 present');
    reportError(err);
  });
  defineGlobal('queueMicrotask', (callback: () => void): void => {
    if (typeof callback !== 'function') throw new TypeError('queueMicrotask: callback is not a function');
    Promise.resolve()
      .then(() => callback())
      .catch(reportError);
  });
}
