/**
 * URLPattern (WHATWG URL Pattern), from urlpattern-polyfill (MIT, the implementation the standard's
 * authors maintain, checked against the Web Platform Tests; ~19 KB minified, no dependencies). It
 * is loaded lazily on first use, like the URL library (see url.ts and the snapshot rule in
 * index.ts); the package's `urlpattern` entry is used because its main entry also writes
 * `globalThis.URLPattern` as it loads.
 */
import { defineLazyGlobal } from './define.js';

type URLPatternModule = { URLPattern: new (...args: never[]) => object };

// esbuild resolves this at build time; there is no module system in the isolate.
declare function require(id: 'urlpattern-polyfill/urlpattern'): URLPatternModule;

/** The library, loaded on first call. A require(), not an import: lazy on purpose, see the header. */
function urlPatternModule(): URLPatternModule {
  return require('urlpattern-polyfill/urlpattern');
}

/** Puts URLPattern on the global object; the library loads on first read. */
export function installUrlPatternGlobal(): void {
  defineLazyGlobal('URLPattern', urlPatternModule);
}
