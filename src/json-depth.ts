/**
 * How deeply a JSON text nests, found without recursion (a recursive check would overflow on the
 * very inputs it exists to refuse). Pure and dependency-free because both sides of the sandbox
 * boundary use it: the node on request bodies (src/http/json.ts), the in-isolate prelude on
 * handler results (src/runtime/adapters.ts), since serialising a deep value overflows the stack of
 * whoever does it next (the isolate host's channel, the node's JSON reply).
 */
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
