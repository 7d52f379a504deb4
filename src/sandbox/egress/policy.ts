/**
 * The egress policy of `fetch`: which addresses a function's sub-requests may reach. The public
 * internet is open; loopback, private, link-local, metadata and other special addresses are
 * denied unless the function's `egress.allow` names them; the node's `denyEgress` list (its own
 * services: NATS, PostgreSQL) is denied even then. Every check sees the URL's host name, the port
 * and one address the connection would go to, so a name that resolves to a denied address is
 * denied too (isolate/bridges/http-client.ts pins each connection to the addresses it checked).
 *
 * Pattern syntax, for both lists: `HOST[:PORT]`, where HOST is `*` (any), `*.example.com` (any
 * subdomain), `api.example.com`, an IPv4 address or CIDR (`10.1.0.0/16`), or an IPv6 address or
 * CIDR in brackets (`[fd00::1]`, `[fd00::]/8`); PORT is a number or `*`, and absent means any.
 *
 * The native driver's egress proxy applies the same policy to a sandbox's connections, which is
 * why it lives here, below both drivers (see index.ts).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** The pattern grammar as a JSON Schema `pattern`, for the API to check at deploy. */
export const EGRESS_PATTERN_SOURCE = [
  '^(?:',
  '\\*', // any host
  '|(?:\\*\\.)?[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.?', // a name, *.suffix or an IPv4 address
  '|[0-9.]+/(?:[0-9]|[12][0-9]|3[0-2])', // an IPv4 CIDR
  '|\\[[0-9A-Fa-f:.]+\\](?:/(?:[0-9]{1,2}|1[01][0-9]|12[0-8]))?', // an IPv6 address or CIDR
  ')(?::(?:\\*|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$',
].join('');
const EGRESS_PATTERN = new RegExp(EGRESS_PATTERN_SOURCE);

type HostMatcher =
  | { kind: 'any' }
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'net'; net: BlockList };

interface Pattern {
  source: string;
  host: HostMatcher;
  /** null: any port. */
  port: number | null;
}

/** Parses one pattern; throws a TypeError naming it when it is not valid. */
export function parseEgressPattern(source: string): Pattern {
  const invalid = (): TypeError => new TypeError(`invalid egress pattern "${source}"`);
  if (!EGRESS_PATTERN.test(source)) throw invalid();
  const text = source.toLowerCase();
  // The port is what follows the last ':' outside the brackets of an IPv6 address.
  const colon = text.lastIndexOf(':');
  const hasPort = colon > text.lastIndexOf(']') && colon !== -1;
  const host = hasPort ? text.slice(0, colon) : text;
  const portText = hasPort ? text.slice(colon + 1) : '*';
  const port = portText === '*' ? null : Number(portText);
  if (port !== null && !(port >= 1 && port <= 65535)) throw invalid();
  return { source, host: hostMatcher(host, invalid), port };
}

function hostMatcher(host: string, invalid: () => TypeError): HostMatcher {
  if (host === '*') return { kind: 'any' };
  if (host.startsWith('*.')) return { kind: 'suffix', suffix: host.slice(1).replace(/\.$/, '') };
  const bracketed = /^\[([^\]]+)\](?:\/(\d+))?$/.exec(host);
  const cidr = /^([0-9.]+)(?:\/(\d+))?$/.exec(host);
  const [address, prefix] = bracketed ? [bracketed[1], bracketed[2]] : cidr ? [cidr[1], cidr[2]] : [];
  if (address === undefined) return { kind: 'name', name: host.replace(/\.$/, '') };
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) && bracketed ? 'ipv6' : null;
  if (family === null) {
    // Digits and dots that are no IPv4 address (`1.2.3`) are a (numeric) host name.
    if (cidr && prefix === undefined) return { kind: 'name', name: host };
    throw invalid();
  }
  const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
  if (bits > (family === 'ipv4' ? 32 : 128)) throw invalid();
  const net = new BlockList();
  net.addSubnet(address, bits, family);
  return { kind: 'net', net };
}

/** Special-purpose ranges, first match wins (so the metadata address is named as such). */
const SPECIAL: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['169.254.169.254', 32, 'ipv4', 'cloud metadata address'],
  ['fd00:ec2::254', 128, 'ipv6', 'cloud metadata address'],
  ['0.0.0.0', 8, 'ipv4', 'unspecified address'],
  ['127.0.0.0', 8, 'ipv4', 'loopback address'],
  ['10.0.0.0', 8, 'ipv4', 'private address'],
  ['172.16.0.0', 12, 'ipv4', 'private address'],
  ['192.168.0.0', 16, 'ipv4', 'private address'],
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT) address'],
  ['169.254.0.0', 16, 'ipv4', 'link-local address'],
  ['192.0.0.0', 24, 'ipv4', 'reserved address'],
  ['198.18.0.0', 15, 'ipv4', 'reserved address'],
  ['224.0.0.0', 4, 'ipv4', 'multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'reserved address'],
  ['::', 128, 'ipv6', 'unspecified address'],
  ['::1', 128, 'ipv6', 'loopback address'],
  ['fc00::', 7, 'ipv6', 'private address'],
  ['fe80::', 10, 'ipv6', 'link-local address'],
  ['fec0::', 10, 'ipv6', 'private address'],
  ['ff00::', 8, 'ipv6', 'multicast address'],
  // RFC 8215 local-use NAT64: the IPv4 address sits at an operator-chosen offset, so it cannot be
  // unwrapped and checked; a translator there may reach private IPv4 networks.
  ['64:ff9b:1::', 48, 'ipv6', 'reserved address'],
];
const SPECIAL_NETS = SPECIAL.map(([address, bits, family, reason]) => {
  const net = new BlockList();
  net.addSubnet(address, bits, family);
  return { net, reason };
});

/**
 * IPv6 forms that carry an IPv4 address in their last 32 bits and may reach it: IPv4-mapped
 * (::ffff:0:0/96), NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible (::/96).
 */
const EMBEDS_IPV4 = (() => {
  const net = new BlockList();
  net.addSubnet('::ffff:0:0', 96, 'ipv6');
  net.addSubnet('64:ff9b::', 96, 'ipv6');
  net.addSubnet('::', 96, 'ipv6');
  return net;
})();

export interface Address {
  address: string;
  family: 'ipv4' | 'ipv6';
}

/** The address a connection really reaches: an IPv4 address embedded in IPv6 is unwrapped. */
export function normalizeAddress(address: string): Address | null {
  const plain = address.replace(/%.*$/, '');
  if (isIPv4(plain)) return { address: plain, family: 'ipv4' };
  if (!isIPv6(plain)) return null;
  // `::` and `::1` are in ::/96 but are IPv6's own unspecified and loopback addresses.
  if (plain !== '::' && plain !== '::1' && EMBEDS_IPV4.check(plain, 'ipv6')) {
    const words = ipv6Words(plain);
    const high = words[6] ?? 0;
    const low = words[7] ?? 0;
    return { address: [high >> 8, high & 255, low >> 8, low & 255].join('.'), family: 'ipv4' };
  }
  return { address: plain.toLowerCase(), family: 'ipv6' };
}

/** The eight 16-bit words of a valid IPv6 address (dotted IPv4 tails included). */
function ipv6Words(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * IPv6 tunnel forms that route to an IPv4 address they carry in other bits: 6to4 (2002::/16, the
 * relay's IPv4 address in bits 16-47, so `2002:7f00::` is a way to loopback) and Teredo
 * (2001::/32, the client's address inverted in the last 32 bits). Unlike the forms above they are
 * not unwrapped (an allow pattern names them as IPv6), but the address inside must pass too.
 */
const TUNNELS = [
  { prefix: '2002::', bits: 16, inner: (w: number[]): [number, number] => [w[1] ?? 0, w[2] ?? 0] },
  {
    prefix: '2001::',
    bits: 32,
    inner: (w: number[]): [number, number] => [~(w[6] ?? 0) & 0xffff, ~(w[7] ?? 0) & 0xffff],
  },
].map(({ prefix, bits, inner }) => {
  const net = new BlockList();
  net.addSubnet(prefix, bits, 'ipv6');
  return { net, inner };
});

/** The IPv4 address an IPv6 tunnel address leads to, if it is one. */
function tunnelledIPv4(address: string): Address | null {
  const tunnel = TUNNELS.find((t) => t.net.check(address, 'ipv6'));
  if (!tunnel) return null;
  const [high, low] = tunnel.inner(ipv6Words(address));
  return { address: [high >> 8, high & 255, low >> 8, low & 255].join('.'), family: 'ipv4' };
}

/** Why an address is special (and so denied unless allowed), or null for a public address. */
export function specialAddress(address: Address): string | null {
  for (const { net, reason } of SPECIAL_NETS) if (net.check(address.address, address.family)) return reason;
  const inner = address.family === 'ipv6' ? tunnelledIPv4(address.address) : null;
  return inner ? specialAddress(inner) : null;
}

function matches(pattern: Pattern, host: string, port: number, address: Address): boolean {
  if (pattern.port !== null && pattern.port !== port) return false;
  switch (pattern.host.kind) {
    case 'any':
      return true;
    case 'name':
      return pattern.host.name === host;
    case 'suffix':
      return host.endsWith(pattern.host.suffix);
    case 'net':
      return pattern.host.net.check(address.address, address.family);
  }
}

/** A function's policy, compiled once per call. */
export class EgressPolicy {
  readonly #allow: Pattern[];
  readonly #deny: Pattern[];

  /**
   * The API and the config reject invalid patterns; one that gets past the API's regex (a
   * malformed IPv6 address in brackets) matches nothing, so it allows nothing.
   */
  constructor(allow: readonly string[], deny: readonly string[]) {
    this.#allow = compile(allow);
    this.#deny = compile(deny);
  }

  /**
   * Why connecting to `address` for `host:port` is denied, or null when it is allowed. `host` is
   * the URL's host name (lowercase, no brackets); for an IP literal it is the address itself.
   */
  check(host: string, port: number, rawAddress: string): string | null {
    const address = normalizeAddress(rawAddress);
    if (address === null) return 'not an IP address';
    const name = host.toLowerCase().replace(/\.$/, '');
    const reserved = this.#deny.find((p) => matches(p, name, port, address));
    if (reserved) return `reserved for the node's own services (${reserved.source})`;
    const special = specialAddress(address);
    if (special === null) return null;
    return this.#allow.some((p) => matches(p, name, port, address)) ? null : special;
  }
}

function compile(sources: readonly string[]): Pattern[] {
  const out: Pattern[] = [];
  for (const source of sources) {
    try {
      out.push(parseEgressPattern(source));
    } catch {
      // See the constructor: an invalid pattern allows (or reserves) nothing.
    }
  }
  return out;
}
