/**
 * JSON request bodies with a nesting limit. V8's `JSON.parse` copes with any depth, but what the
 * node does with the value afterwards (`JSON.stringify` for KV and events, copies into isolates)
 * recurses and overflows the stack: 5,000 levels were a 500. So depth is checked on the text,
 * before parsing, by a loop that does not recurse itself; then Fastify's secure parser runs, which
 * refuses `__proto__` and `constructor.prototype` keys so a body cannot pollute prototypes.
 */
import type { FastifyInstance } from 'fastify';
import { ProcyonError } from '../errors.js';
import { nestsDeeperThan } from '../json-depth.js';

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
