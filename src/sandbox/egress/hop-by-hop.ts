/**
 * The one list of hop-by-hop headers: what describes a single connection rather than the message,
 * so whoever relays a message does not pass it on. Four places relay: the egress proxy and the
 * procs proxy (native driver), isolate `fetch` (its request goes out on the host's connection)
 * and the node's reply to a client (a function's response headers). They used to keep drifted
 * copies of this list, so a header one of them dropped leaked through another.
 *
 * It lives with the egress policy because every relay that uses it is on an egress or ingress path
 * of a sandbox; it is pure data, so src/http imports it without loading either driver.
 */

/**
 * Lowercase names. RFC 9110 §7.6.1: `connection`, and what a proxy removes in practice
 * (`proxy-connection`, `keep-alive`, `te`, `transfer-encoding`, `upgrade`). Also, as in RFC 2616
 * §13.5.1 and every former copy: `trailer`, since each relay re-frames the body it forwards and a
 * trailer announced for the old framing would be wrong for the new one; `proxy-authorization` and
 * `proxy-authenticate`, credentials for and a challenge from a proxy, which no relay here consumes,
 * so passing them on would hand a sandbox's proxy credentials to the next hop.
 *
 * Not here: `content-length`, which is end-to-end; the node's reply and `fetch` drop it
 * themselves because they frame the body anew. Header names listed in a `Connection` value are not
 * removed by any relay (RFC 9110 asks it of proxies); the list is the fixed part.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** A relay's copy of `headers` (Node's IncomingHttpHeaders shape) without the hop-by-hop ones. */
export function endToEndHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) out[name] = value;
  return out;
}
