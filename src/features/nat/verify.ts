// Checks of NAT's slice: where translated traffic leaves, families, NPTv6 prefixes, port forwards
// (targets, ranges, duplicates and conflicts by interval).
import type { PathSegment } from '../../config/diagnostics.js';
import { overlaps, hasScopeId, isLinkLocal, parseAddress, parseCidr, parseEndpoint, type Addr, type Cidr, type Family } from '../../lib/ip.js';
import { checkAddrMatch, checkPorts, checkZoneRef } from '../../model/checks.js';
import { asList, interfacesOn, parsedStatic, pick, staticAddresses } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import { firewall } from '../firewall/index.js';
import { prefixDelegation } from '../prefix-delegation/index.js';
import type { natSiteKeys } from './schema.js';

export function verifyNat(c: VerifyContext<typeof natSiteKeys>) {
  const { site, zones } = c;
  const nat = site.nat;
  if (!nat) return;
  const sets = c.sliceOf(firewall).sets;
  const pdIfaces = c.sliceOf(prefixDelegation).interfaces;
  const delegating = Object.entries(pdIfaces).filter(([, x]) => x['prefix-delegation']).map(([k]) => k);
  const resolvesOut = (out: string) => zones.includes(out) || Object.hasOwn(site.interfaces, out);
  const outHint = (o: string) => c.suggest(o, [...zones, ...Object.keys(site.interfaces)]);
  for (const kind of ['masquerade', 'snat', 'npt'] as const) {
    nat[kind].forEach((m, i) => {
      if (!resolvesOut(m.out)) c.error('ref.unknown-interface', ['nat', kind, i, 'out'], `'${m.out}' is neither a zone nor an interface`, outHint(m.out));
    });
  }
  // A source that names only empty sets would leave the rule without a source match, which is
  // "every source": refuse it rather than translate what the user meant to keep out.
  const emptySources = (v: string | string[] | undefined, path: PathSegment[]) => {
    const refs = asList(v ?? []);
    if (refs.length === 0 || !refs.every((r) => r.startsWith('@') && Object.hasOwn(sets ?? {}, r.slice(1)) && sets![r.slice(1)].elements.length === 0)) return;
    c.error('nat.source-empty', path, `${refs.join(', ')} ${refs.length > 1 ? 'are' : 'is'} empty: this rule would translate no source at all`, 'add elements to the set, or remove the rule');
  };
  nat.masquerade.forEach((m, i) => {
    const fams = checkAddrMatch(sets, m.source, ['nat', 'masquerade', i, 'source'], c);
    emptySources(m.source, ['nat', 'masquerade', i, 'source']);
    if (m.family !== 'both' && fams.size > 0) {
      const want: Family = m.family === 'ipv6' ? 6 : 4;
      if ([...fams].some((f) => f !== want)) c.error('rule.mixed-family', ['nat', 'masquerade', i, 'source'], `sources do not match family ${m.family ?? 'ipv4'}`, m.family ? undefined : "add 'family: ipv6' (or both)");
    }
    if (m.family === 'both' && fams.size === 1) {
      const only = [...fams][0];
      c.warn('nat.source-family', ['nat', 'masquerade', i, 'source'], `family: both, but every source is IPv${only}: IPv${only === 4 ? 6 : 4} is not masqueraded by this rule`, `add IPv${only === 4 ? 6 : 4} sources, or write 'family: ipv${only}'`);
    }
  });
  nat.snat.forEach((s, i) => {
    const fams = checkAddrMatch(sets, s.source, ['nat', 'snat', i, 'source'], c);
    emptySources(s.source, ['nat', 'snat', i, 'source']);
    const to = parseAddress(s.to);
    if (!to) c.error('address.invalid', ['nat', 'snat', i, 'to'], `'${s.to}' is not an address`);
    else if ([...fams].some((f) => f !== to.family)) c.error('rule.mixed-family', ['nat', 'snat', i], 'sources and the new source address are of different families');
  });
  nat.npt.forEach((n, i) => {
    const inside = parseCidr(n.inside);
    if (!inside || inside.family !== 6) c.error('address.invalid', ['nat', 'npt', i, 'inside'], `'${n.inside}' is not an IPv6 prefix`);
    if (typeof n.outside !== 'string') {
      const up = Object.hasOwn(pdIfaces, n.outside.delegated) ? pdIfaces[n.outside.delegated]['prefix-delegation'] : undefined;
      if (!up) c.error('pd.unknown-uplink', ['nat', 'npt', i, 'outside', 'delegated'], `'${n.outside.delegated}' is not an interface with prefix-delegation`, c.suggest(n.outside.delegated, delegating));
      else if (n.outside.subnet >= 2 ** (64 - up.length)) c.error('pd.subnet-range', ['nat', 'npt', i, 'outside', 'subnet'], `a /${up.length} has ${2 ** (64 - up.length)} /64s; subnet ${n.outside.subnet} is not one of them`);
      if (inside && inside.prefix !== 64) c.error('nat.npt-length', ['nat', 'npt', i, 'inside'], `a /64 of a delegated prefix is the outside: the inside must be a /64 too, not /${inside.prefix}`, 'NPTv6 maps prefixes of equal length (RFC 6296)');
      return;
    }
    const outside = parseCidr(n.outside);
    if (!outside || outside.family !== 6) c.error('address.invalid', ['nat', 'npt', i, 'outside'], `'${n.outside}' is not an IPv6 prefix`);
    if (inside && outside && inside.prefix !== outside.prefix) c.error('nat.npt-length', ['nat', 'npt', i], `prefix lengths differ (/${inside.prefix} inside, /${outside.prefix} outside)`, 'NPTv6 maps prefixes of equal length (RFC 6296)');
  });
  // NPTv6 rewrites the outside prefix to the inside one before the filter sees the packet: a rule
  // whose destination is the outside prefix never matches what arrives.
  const outsides = nat.npt.flatMap((n) => (typeof n.outside === 'string' ? [{ outside: parseCidr(n.outside), inside: n.inside }] : [])).filter((x) => x.outside);
  (c.sliceOf(firewall).firewall?.rules ?? []).forEach((r, i) => {
    asList(r.destination ?? []).forEach((d, k) => {
      const dc = parseCidr(d, true);
      const hit = dc && outsides.find((o) => overlaps(o.outside!, dc));
      if (hit) c.warn('rule.npt-outside', ['firewall', 'rules', i, 'destination', ...(Array.isArray(r.destination) ? [k] : [])], `${d} is in NPTv6's outside prefix ${hit.outside!.text}: the filter sees such packets with their inside address, so this never matches`, `name the inside address (in ${hit.inside}) instead`);
    });
  });
  verifyForwards(c, nat.forwards, nat.masquerade.map((m) => m.out).filter((o) => zones.includes(o)));
}

const ulaHint = 'give the target a ULA (e.g. fd00::3/64 on the bridge) and forward to [fd00::3]:PORT';

function verifyForwards(c: VerifyContext<typeof natSiteKeys>, forwards: NonNullable<VerifyContext<typeof natSiteKeys>['site']['nat']>['forwards'], masqZones: string[]) {
  const byKey = new Map<string, PortClaim[]>();
  const forwardNames = new Map<string, number>();
  forwards.forEach((f, i) => {
    const base: PathSegment[] = ['nat', 'forwards', i];
    if (f.name !== undefined) {
      const prior = forwardNames.get(f.name);
      if (prior !== undefined) c.error('forward.duplicate-name', [...base, 'name'], `forward name '${f.name}' is already used by nat.forwards[${prior}]`, 'the name is the mapping\'s identity (it is removed by it); make it unique');
      else forwardNames.set(f.name, i);
    }
    if (f.from !== undefined) checkZoneRef(f.from, c.zones, false, [...base, 'from'], c);
    else if (masqZones.length === 0) c.error('forward.no-from', base, "no 'from' zone and no masquerade zone to default to", "add 'from: wan' (the zone the connection arrives on)");
    checkPorts(f.port, [...base, 'port'], c);
    if (hasScopeId(f.to)) {
      c.error('nat.target-link-local', [...base, 'to'], `'${f.to}' carries a scope id; nft and iptables cannot DNAT to a link-local address (it is only meaningful with an interface, and a NAT target has none)`, ulaHint);
      return;
    }
    const t = parseEndpoint(f.to);
    if (!t) {
      c.error('nat.target-invalid', [...base, 'to'], `'${f.to}' is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT`, 'e.g. 10.0.1.1:80 or [fd00::3]:80');
      return;
    }
    const offLink = isLinkLocal(t.addr) ? undefined : targetOffLink(c, t.addr, t.family);
    if (offLink !== undefined) c.warn('forward.target-off-link', [...base, 'to'], `${t.addr.toString()} is on no link of the router${offLink}, and no route leads there`, 'check the address: a forward to an unreachable target lets connections in that go nowhere');
    if (isLinkLocal(t.addr)) {
      c.error('nat.target-link-local', [...base, 'to'], `${t.addr} is link-local: a DNAT target cannot be link-local, because the address is only unique together with an interface (scope id) and NAT has no way to say which`, ulaHint);
    }
    if (t.portEnd !== undefined) c.error('nat.target-invalid', [...base, 'to'], 'a target port range is not supported; forward a public range to an address to keep the ports', `write 'to: ${t.addr}'`);
    const range = /^(\d+)-(\d+)$/.exec(String(f.port));
    if (range && t.port !== undefined) c.error('nat.target-invalid', [...base, 'to'], 'a public port range keeps its ports; the target takes no port', `write 'to: ${t.addr}'`);
    if (f.destination) {
      const d = parseAddress(f.destination);
      if (!d) c.error('address.invalid', [...base, 'destination'], `'${f.destination}' is not an address`);
      else if (d.family !== t.family) c.error('rule.mixed-family', base, `destination ${f.destination} and target ${f.to} are of different families`, 'NAT46/NAT64 is not a port forward; use one family');
    }
    // Duplicates and conflicts: same arrival, family, protocol, address and overlapping port. Port
    // ranges are compared as intervals (a sweep below), never enumerated.
    const [lo, hi] = range ? [Number(range[1]), Number(range[2])] : [Number(f.port), Number(f.port)];
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) return;
    for (const proto of asList(f.proto)) {
      for (const from of asList(f.from ?? masqZones)) {
        const key = `${t.family}|${from}|${proto}|${f.destination ?? '*'}`;
        const list = byKey.get(key) ?? [];
        list.push({ i, lo, hi, proto, target: f.to });
        byKey.set(key, list);
      }
    }
  });
  reportOverlaps(c, byKey);
}

interface PortClaim {
  i: number;
  lo: number;
  hi: number;
  proto: string;
  target: string;
}

/**
 * Forwards whose ports overlap under one key (family, zone, protocol, address): sorted by their
 * first port, each claim is compared with the one reaching furthest so far. O(n log n) however
 * wide the ranges; one message per forward, on the later one of the pair.
 */
function reportOverlaps(c: VerifyContext<typeof natSiteKeys>, byKey: Map<string, PortClaim[]>) {
  const reported = new Set<number>();
  for (const claims of byKey.values()) {
    claims.sort((a, b) => a.lo - b.lo || a.i - b.i);
    let reach: PortClaim | undefined;
    for (const x of claims) {
      if (reach && x.lo <= reach.hi) {
        const [first, later] = reach.i < x.i ? [reach, x] : [x, reach];
        if (!reported.has(later.i) && first.i !== later.i) {
          reported.add(later.i);
          const port = Math.max(first.lo, later.lo);
          const same = first.target === later.target && first.lo === later.lo && first.hi === later.hi;
          c.error(same ? 'forward.duplicate' : 'forward.conflict', ['nat', 'forwards', later.i],
            same ? `same forward as nat.forwards[${first.i}] (${later.proto} ${port})` : `${later.proto} port ${port} is already forwarded to ${first.target} by nat.forwards[${first.i}]`,
            same ? 'remove one of them' : 'a public port can go to one target only; pick another port or set destination: to tell public addresses apart');
        }
      }
      if (!reach || x.hi > reach.hi) reach = x;
    }
  }
}

/** Per node and family: the prefixes on its links and routes, by length (undefined: some link's
 * addresses are dynamic, so verify cannot know). Built once per verify run. */
type Reach = Map<string, Map<number, Set<string>> | undefined>;
const reachCache = new WeakMap<object, Reach>();

function reachOf(c: VerifyContext<typeof natSiteKeys>, node: string, family: Family): Map<number, Set<string>> | undefined {
  let cache = reachCache.get(c.site);
  if (!cache) reachCache.set(c.site, (cache = new Map()));
  const key = `${node}|${family}`;
  if (cache.has(key)) return cache.get(key);
  let byLength: Map<number, Set<string>> | undefined = new Map();
  const add = (n: Cidr) => {
    if (n.family !== family) return;
    const set = byLength!.get(n.prefix) ?? new Set<string>();
    set.add(n.network);
    byLength!.set(n.prefix, set);
  };
  for (const [, iface] of interfacesOn(c.site, node)) {
    const v = pick(family === 4 ? iface.ipv4 : iface.ipv6, node);
    if (v !== undefined && staticAddresses(v).length === 0) {
      byLength = undefined;
      break;
    }
    parsedStatic(v).forEach(add);
    for (const r of iface.routes ?? []) {
      const to = parseCidr(r.to, true);
      if (to) add(to);
    }
  }
  cache.set(key, byLength);
  return byLength;
}

/**
 * Where a forward's target is on no link and behind no route of some node: the node's name, or ''
 * for a one-node site; undefined when it is reachable, or may be (an address learnt by DHCP or
 * SLAAC, which verify cannot know). One lookup per prefix length, however many routes a site has.
 */
function targetOffLink(c: VerifyContext<typeof natSiteKeys>, addr: Addr, family: Family): string | undefined {
  for (const node of c.nodes) {
    const reach = reachOf(c, node, family);
    if (!reach) return undefined;
    const hit = [...reach].some(([len, nets]) => nets.has(parseCidr(`${addr.toString()}/${len}`)!.network));
    if (!hit) return c.nodes.length > 1 ? ` on node ${node}` : '';
  }
  return undefined;
}
