/**
 * JSON request bodies with a nesting limit. V8's `JSON.parse` copes with any depth, but what the
 * node does with the value afterwards (`JSON.stringify` for KV and events, copies into isolates)
 * recurses and overflows the stack: 5,000 levels were a 500. So depth is checked on the text,
 * before parsing, by a loop that does not recurse itself; then Fastify's secure parser runs, which
 * refuses `__proto__` and `constructor.prototype` keys so a body cannot pollute prototypes.
 */
import type { FastifyInstance } from 'fastify';
import { ProcyonError } from '../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Whether `text`'s objects and arrays nest deeper than `max`; brackets inside strings do not count. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** Replaces the plugin's `application/json` parser with one that enforces `maxDepth` first. */
export function useDepthLimitedJson(app: FastifyInstance, maxDepth: number): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (nestsDeeperThan(text, maxDepth)) {
      done(
        new ProcyonError(
          'PROCYON_BAD_REQUEST',
          `malformed request body: JSON nested deeper than ${maxDepth} levels`,
        ),
        undefined,
      );
      return;
    }
    // Fastify types a parser as maybe async; the default one calls `done` synchronously.
    void secureParse(req, text, done);
  });
}
