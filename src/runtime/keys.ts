/**
 * Storage key order inside the isolate, the same as the node's (SQLite BINARY on UTF-8): by code
 * point. JavaScript's own string comparison is by UTF-16 unit, which puts U+E000..U+FFFF after
 * astral characters; a transaction's list() merges its own writes in this order.
 *
 * Snapshot rule (see index.ts): this module's top level runs while the snapshot is made.
 */
/** Orders keys as the node does: by code point, which is UTF-8 byte order (not UTF-16 order). */
export function compareKeys(left: string, right: string): number {
  let li = 0;
  let ri = 0;
  while (li < left.length && ri < right.length) {
    const lc = left.codePointAt(li) as number;
    const rc = right.codePointAt(ri) as number;
    if (lc !== rc) return lc < rc ? -1 : 1;
    li += lc > 0xffff ? 2 : 1;
    ri += rc > 0xffff ? 2 : 1;
  }
  return left.length - li === right.length - ri ? 0 : left.length - li < right.length - ri ? -1 : 1;
}
