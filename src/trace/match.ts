// Element matching as nft does it for sets and anonymous sets: prefixes, single addresses, a-b
// ranges, ports and port ranges. Address math goes through src/lib/ip.ts and ipaddr.js.
import ipaddr from 'ipaddr.js';
import { contains, parseAddress, parseCidr, type Addr, type Cidr, type Family } from '../lib/ip.js';

/** Orders two addresses of one family; byte arrays compare like the numbers they encode. */
function compare(a: Addr, b: Addr): number {
  const x = a.toByteArray();
  const y = b.toByteArray();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Protocols whose transport header starts with source and destination ports. */
export const PORT_PROTOS = ['tcp', 'udp', 'sctp', 'udplite'];

/** Parsed elements are cached: a 100 000-entry blocklist is parsed once per run, not once per rule. */
const cache = new Map<string, ((a: Addr) => boolean) | null>();

function elementMatcher(e: string): ((a: Addr) => boolean) | null {
  let m = cache.get(e);
  if (m !== undefined) return m;
  const cidr = parseCidr(e, true);
  const dash = e.indexOf('-');
  if (cidr) {
    m = (a) => contains(cidr, a);
  } else if (dash > 0) {
    const lo = parseAddress(e.slice(0, dash).trim());
    const hi = parseAddress(e.slice(dash + 1).trim());
    m = lo && hi && lo.family === hi.family ? (a) => a.kind() === lo.addr.kind() && compare(a, lo.addr) >= 0 && compare(a, hi.addr) <= 0 : null;
  } else {
    m = null;
  }
  cache.set(e, m);
  return m;
}

/** True when `addr` is one of the elements (prefix, address or range); unparsable elements never match. */
export function inElements(addr: Addr, elements: readonly string[]): boolean {
  return elements.some((e) => elementMatcher(e)?.(addr) ?? false);
}

/** `th dport { 22, 8000-8100 }`: a packet without ports (icmp, esp, ...) has nothing to compare. */
export function portIn(port: number | undefined, specs: readonly string[]): boolean {
  if (port === undefined) return false;
  return specs.some((s) => {
    const dash = s.indexOf('-');
    if (dash < 0) return Number(s) === port;
    return port >= Number(s.slice(0, dash)) && port <= Number(s.slice(dash + 1));
  });
}

export function sameAddr(a: Addr, text: string): boolean {
  const b = parseAddress(text);
  return b !== undefined && b.addr.kind() === a.kind() && compare(a, b.addr) === 0;
}

export function familyOf(a: Addr): Family {
  return a.kind() === 'ipv4' ? 4 : 6;
}

/**
 * `dnat ip6 prefix to NET` / `snat ip6 prefix to NET` (NF_NAT_RANGE_NETMAP): the network bits
 * come from `to`, the host bits stay. ipaddr.js has no prefix splice, so the bytes are combined
 * here under the library's own netmask.
 */
export function mapPrefix(addr: Addr, to: Cidr): Addr {
  const mask = (to.family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).subnetMaskFromPrefixLength(to.prefix).toByteArray();
  const net = to.addr.toByteArray();
  const host = addr.toByteArray();
  return ipaddr.fromByteArray(host.map((b, i) => (net[i] & mask[i]) | (b & ~mask[i] & 0xff)));
}
