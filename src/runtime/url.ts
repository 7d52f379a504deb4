/**
 * URL and URLSearchParams. We use whatwg-url-minimum (MIT, by Expo; a TypeScript port of
 * jsdom/whatwg-url checked against the Web Platform Tests, with IDNA, no dependencies and no Node
 * built-ins) rather than writing a parser: the URL standard is large and full of edge cases, and this
 * package adds ~55 KB to the prelude where whatwg-url proper would pull in tr46 and webidl tables.
 *
 * It is loaded lazily, on first use inside an isolate, never while the snapshot is made: V8 snapshots
 * made by isolated-vm 5 on Node 20 corrupt one-character strings (a variable named `U` is no longer
 * found after the snapshot is restored), and the library's module scope is full of one-letter names.
 * esbuild keeps a `require()`d CommonJS module in a function that runs on the first call, so the
 * snapshot holds only its source text.
 */
import type * as WhatwgUrl from 'whatwg-url-minimum';
import { atob } from './base64.js';
import { defineLazyGlobal } from './define.js';
import { INSPECT, type Inspect } from './inspect.js';

type UrlModule = typeof WhatwgUrl;
export type URL = InstanceType<UrlModule['URL']>;
export type URLSearchParams = InstanceType<UrlModule['URLSearchParams']>;

// esbuild resolves this at build time; there is no module system in the isolate.
declare function require(id: 'whatwg-url-minimum'): UrlModule;

let loaded: UrlModule | null = null;

/** The URL classes, loading the library on first call (per isolate). */
export function urlModule(): UrlModule {
  if (loaded !== null) return loaded;
  // The library decodes its IDNA tables with the global atob as it loads; user code may have
  // replaced or deleted that global by now, so ours is put back for the duration.
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'atob');
  Object.defineProperty(globalThis, 'atob', { value: atob, writable: true, configurable: true });
  let mod: UrlModule;
  try {
    // A require(), not an import: lazy on purpose, see the header.
    mod = require('whatwg-url-minimum');
  } finally {
    if (saved === undefined) delete (globalThis as { atob?: unknown }).atob;
    else Object.defineProperty(globalThis, 'atob', saved);
  }
  // esbuild renames the bundled classes (`_URL`); the names users see must be the standard ones.
  Object.defineProperty(mod.URL, 'name', { value: 'URL', configurable: true });
  Object.defineProperty(mod.URLSearchParams, 'name', { value: 'URLSearchParams', configurable: true });
  addInspect(mod);
  loaded = mod;
  return mod;
}

export function isURLSearchParams(value: unknown): value is URLSearchParams {
  return loaded !== null && value instanceof loaded.URLSearchParams;
}

/** Parses an absolute URL; TypeError (from the library) when it is not one. */
export function parseURL(input: string): URL {
  return new (urlModule().URL)(input);
}

const DECIMAL_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
/**
 * http(s) URLs that are already in WHATWG serialised form: lowercase scheme and host (letters, digits,
 * inner hyphens, no `xn--` label, last label starting with a letter, or a plain dotted quad), a port
 * without leading zeros, a path of characters never percent-encoded, no dot segments (checked
 * apart), a query without the special-query set (space " # < > '), no userinfo, no fragment.
 */
const CANONICAL_HTTP = new RegExp(
  '^https?://' +
    `(?:(?:(?!xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)*(?!xn--)[a-z](?:[a-z0-9-]*[a-z0-9])?|${DECIMAL_OCTET}(?:\\.${DECIMAL_OCTET}){3})` +
    '(?::([1-9][0-9]{0,4}))?' +
    "(?:/[A-Za-z0-9\\-._~!$&'()*+,;=:@%]*)+" +
    '(?:\\?[A-Za-z0-9\\-._~!$&()*+,;=:@%/?]*)?$',
);
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=\/|\?|$)/i;

/**
 * Whether `input` is an http(s) URL already in its serialised form (so `new URL(input).href` is
 * `input`). Most URLs the host hands in are, so a fetch call that never touches URL itself does not
 * pay for loading the library. False means "parse it", not "invalid".
 */
export function isCanonicalHttpUrl(input: string): boolean {
  const match = CANONICAL_HTTP.exec(input);
  if (match === null || DOT_SEGMENT.test(input)) return false;
  const port = match[1];
  return (
    port === undefined || (port !== (input.startsWith('https:') ? '443' : '80') && Number(port) <= 65535)
  );
}

function addInspect({ URL, URLSearchParams }: UrlModule): void {
  Object.defineProperty(URL.prototype, INSPECT, {
    value(this: URL, _depth: number, _options: unknown, inspect: Inspect): string {
      const fields = {
        href: this.href,
        origin: this.origin,
        protocol: this.protocol,
        username: this.username,
        password: this.password,
        host: this.host,
        hostname: this.hostname,
        port: this.port,
        pathname: this.pathname,
        search: this.search,
        searchParams: this.searchParams,
        hash: this.hash,
      };
      return `URL ${inspect(fields)}`;
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(URLSearchParams.prototype, INSPECT, {
    value(this: URLSearchParams, _depth: number, _options: unknown, inspect: Inspect): string {
      const entries = [...this].map(([k, v]) => `${inspect(k)} => ${inspect(v)}`);
      return entries.length === 0 ? 'URLSearchParams {}' : `URLSearchParams { ${entries.join(', ')} }`;
    },
    configurable: true,
    writable: true,
  });
}

/** Puts URL and URLSearchParams on the global object; the library loads on first read. */
export function installUrlGlobals(): void {
  defineLazyGlobal('URL', urlModule);
  defineLazyGlobal('URLSearchParams', urlModule);
}
