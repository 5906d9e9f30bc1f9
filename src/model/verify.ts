// Semantic checks over a schema-valid site: references, address sanity, NAT and rule consistency.
// Returns every problem at once; the model builder only runs when this finds no error.
import { closest, distance } from 'fastest-levenshtein';
import { parseChecks } from '../lab/checks.js';
import { AFTR_PRESETS, resolveAftr } from '../features/ds-lite/aftr.js';
import type { Site } from '../config/schema.js';
import { originOf, type SourceMap } from '../config/load.js';
import { formatPath, sortDiagnostics, type Diagnostic, type PathSegment, type Severity } from '../config/diagnostics.js';
import {
  contains, familyOfPrefix, hasScopeId, isLinkLocal, overlaps, parseAddress, parseCidr, parseEndpoint, type Cidr, type Family,
} from '../lib/ip.js';
import {
  ANY, ROUTER, asList, familyOfMatch, interfacesOn, isPerNodeMap, nodeNames, parsedStatic, pick, staticAddresses, zoneNames,
} from './resolve.js';

class Collector {
  readonly out: Diagnostic[] = [];
  constructor(private readonly source?: SourceMap) {}
  add(severity: Severity, code: string, path: PathSegment[], message: string, hint?: string, key = false) {
    const at = this.source ? originOf(this.source, path) ?? { file: this.source.file, ...this.source.locate(path, key) } : {};
    this.out.push({ code, severity, path: formatPath(path), message, hint, ...at });
  }
  error(code: string, path: PathSegment[], message: string, hint?: string, key = false) {
    this.add('error', code, path, message, hint, key);
  }
  warn(code: string, path: PathSegment[], message: string, hint?: string) {
    this.add('warning', code, path, message, hint);
  }
}

export function verifySite(site: Site, source?: SourceMap): Diagnostic[] {
  const c = new Collector(source);
  const nodes = nodeNames(site);
  const declaredZones = site.zones ? Object.keys(site.zones) : undefined;
  const zones = declaredZones ?? zoneNames(site);

  checkPerNodeKeys(site, nodes, c);
  // Zone names become nft chain names with anything but letters, digits and _ turned into _.
  const byIdent = new Map<string, string>();
  for (const z of zones) {
    const id = z.replace(/[^A-Za-z0-9_]/g, '_');
    const other = byIdent.get(id);
    if (other) c.error('zone.name-clash', site.zones?.[z] ? ['zones', z] : [], `zones '${other}' and '${z}' would share the chains in_${id}, from_${id} in the ruleset`, 'rename one of them (- and _ are the same to nft chain names)', true);
    else byIdent.set(id, z);
  }
  checkInterfaces(site, nodes, declaredZones, c);
  checkSets(site, c);
  checkFirewall(site, zones, c);
  checkNat(site, nodes, zones, c);
  checkSysctl(site, c);
  for (const [i, field, message] of parseChecks(site).problems) {
    c.error('lab.check-invalid', ['lab', 'checks', i, field], message, 'e.g. { from: lan, to: internet:443/tcp, expect: allow, seen-as: wan }');
  }
  return sortDiagnostics(c.out);
}

function suggestNames(word: string, all: string[]): string {
  const names = [...new Set(all)];
  if (names.length === 0) return 'none are declared';
  const near = closest(word, names);
  const close = distance(word, near) <= Math.max(2, Math.floor(word.length / 3));
  return `known: ${names.join(', ')}${close ? ` (did you mean '${near}'?)` : ''}`;
}

function checkPerNodeKeys(site: Site, nodes: string[], c: Collector) {
  for (const [key, iface] of Object.entries(site.interfaces)) {
    for (const field of ['device', 'ipv4', 'ipv6'] as const) {
      const v = iface[field];
      if (!isPerNodeMap(v)) continue;
      for (const n of Object.keys(v)) {
        if (!nodes.includes(n)) {
          c.error('ref.unknown-node', ['interfaces', key, field, n], `'${n}' is not a node of this site`,
            site.nodes ? suggestNames(n, nodes) : `declare it under 'nodes:' (a site without 'nodes:' has one node named '${nodes[0]}')`, true);
        }
      }
    }
  }
}

function checkInterfaces(site: Site, nodes: string[], declaredZones: string[] | undefined, c: Collector) {
  for (const [key, iface] of Object.entries(site.interfaces)) {
    const base: PathSegment[] = ['interfaces', key];
    if (declaredZones && !declaredZones.includes(iface.zone)) {
      c.error('ref.unknown-zone', [...base, 'zone'], `zone '${iface.zone}' is not declared under 'zones:'`, suggestNames(iface.zone, declaredZones));
    }
    for (const [field, fam] of [['ipv4', 4], ['ipv6', 6]] as const) {
      const v = iface[field];
      const per: [PathSegment[], unknown][] = isPerNodeMap(v) ? Object.entries(v).map(([n, x]) => [[...base, field, n], x]) : [[[...base, field], v]];
      for (const [p, val] of per) {
        const list = staticAddresses(val);
        list.forEach((s, i) => {
          const at: PathSegment[] = Array.isArray(val) ? [...p, i] : p;
          const cidr = parseCidr(s);
          if (!cidr) {
            c.error('address.invalid', at, `'${s}' is not an address with prefix length`, fam === 4 ? 'write it like 192.0.2.1/24' : 'write it like 2001:db8::1/64');
          } else if (cidr.family !== fam) {
            c.error('address.family-mismatch', at, `'${s}' is an IPv${cidr.family} address under ${field}`, `move it to ipv${cidr.family}`);
          }
        });
      }
    }
    for (const [field, fam] of [['gateway4', 4], ['gateway6', 6], ['peer4', 4]] as const) {
      const g = iface[field];
      if (g === undefined) continue;
      const a = parseAddress(g);
      if (!a) c.error('address.invalid', [...base, field], `'${g}' is not an address`);
      else if (a.family !== fam) c.error('address.family-mismatch', [...base, field], `'${g}' is not an IPv${fam} address`);
    }
    (iface.routes ?? []).forEach((r, i) => {
      if (!parseCidr(r.to, true)) c.error('address.invalid', [...base, 'routes', i, 'to'], `'${r.to}' is not an address or prefix`);
      if (r.via && !parseAddress(r.via)) c.error('address.invalid', [...base, 'routes', i, 'via'], `'${r.via}' is not an address`);
    });

    // The gateway must be reachable on the link: inside one of the interface's prefixes, or the
    // point-to-point peer (seed 003's /32 uplink), or link-local for IPv6.
    for (const node of nodes) {
      if (pick(iface.device, node) === undefined) continue;
      const v4 = parsedStatic(pick(iface.ipv4, node));
      const v6 = parsedStatic(pick(iface.ipv6, node));
      const gw4 = iface.gateway4 ? parseAddress(iface.gateway4) : undefined;
      if (gw4?.family === 4 && v4.length > 0 && iface.peer4 !== iface.gateway4 && !v4.some((n) => contains(n, gw4.addr))) {
        c.error('address.outside-subnet', [...base, 'gateway4'], `gateway ${iface.gateway4} is outside ${v4.map((n) => n.network).join(', ')}${nodes.length > 1 ? ` on node ${node}` : ''}`,
          v4.some((n) => n.prefix === 32) ? `for a /32 uplink set 'peer4: ${iface.gateway4}' (point-to-point)` : 'fix the gateway or the prefix length');
      }
      const gw6 = iface.gateway6 ? parseAddress(iface.gateway6) : undefined;
      if (gw6?.family === 6 && v6.length > 0 && !isLinkLocal(gw6.addr) && !v6.some((n) => contains(n, gw6.addr))) {
        c.error('address.outside-subnet', [...base, 'gateway6'], `gateway ${iface.gateway6} is outside ${v6.map((n) => n.network).join(', ')}`, 'use the router\'s link-local address (e.g. fe80::1) or fix the prefix');
      }
    }
    (iface.hosts ?? []).forEach((h, n) => {
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const a = h[fam];
        if (a === undefined) continue;
        const p = parseAddress(a);
        const nets = nodes.flatMap((node) => parsedStatic(pick(iface[fam], node)));
        if (!p || p.family !== (fam === 'ipv4' ? 4 : 6)) c.error('address.invalid', [...base, 'hosts', n, fam], `'${a}' is not an IPv${fam === 'ipv4' ? 4 : 6} address`);
        else if (isLinkLocal(p.addr)) c.error('nat.target-link-local', [...base, 'hosts', n, fam], `${a} is link-local; port forwards cannot reach it (no scope id in NAT)`, 'give the container a ULA such as fd00::3 (seed 001)');
        else if (!nets.some((x) => contains(x, p.addr))) c.error('address.outside-subnet', [...base, 'hosts', n, fam], `${a} is outside ${nets.map((x) => x.network).join(', ') || `this link (it has no static ${fam})`}`, 'a container on this link needs an address in its prefix');
      }
    });
    if (iface['prefix-delegation'] && iface.ipv6 !== 'dhcp') {
      c.error('pd.needs-dhcp', [...base, 'prefix-delegation'], 'prefix delegation is asked for by DHCPv6: this interface needs ipv6: dhcp', "write 'ipv6: dhcp'");
    }
    const from = iface['ipv6-from'];
    if (from) {
      const up = site.interfaces[from.uplink];
      if (!up?.['prefix-delegation']) {
        c.error('pd.unknown-uplink', [...base, 'ipv6-from', 'uplink'], `'${from.uplink}' is not an interface with prefix-delegation`, suggestNames(from.uplink, Object.entries(site.interfaces).filter(([, x]) => x['prefix-delegation']).map(([k]) => k)));
      } else if (from.subnet >= 2 ** (64 - (up['prefix-delegation'].length ?? 56))) {
        c.error('pd.subnet-range', [...base, 'ipv6-from', 'subnet'], `a /${up['prefix-delegation'].length ?? 56} has ${2 ** (64 - (up['prefix-delegation'].length ?? 56))} /64s; subnet ${from.subnet} is not one of them`, 'pick a smaller subnet id or ask for a shorter prefix');
      }
    }
    const ppp = iface.pppoe;
    if (ppp) {
      for (const node of nodes) {
        const dev = pick(iface.device, node);
        if (dev !== undefined && !/^ppp\d+$/.test(dev)) c.error('pppoe.device', [...base, 'device'], `a PPPoE interface's device is the PPP device (ppp0, ppp1, …), not '${dev}'`, `write 'device: ppp0' and 'pppoe: { over: ${dev}, … }'`);
      }
      if (staticAddresses(iface.ipv4).length || iface.gateway4 || iface.ipv4 === 'dhcp') c.error('pppoe.static-address', [...base, 'ipv4'], 'PPP negotiates the address and the default route; a PPPoE interface takes no ipv4 or gateway4', 'remove ipv4 and gateway4 from this interface');
      if (Object.values(site.interfaces).some((o) => o !== iface && Object.values(isPerNodeMap(o.device) ? o.device : { x: o.device }).includes(ppp.over))) {
        c.error('pppoe.over-in-use', [...base, 'pppoe', 'over'], `${ppp.over} is configured as an interface of its own; PPPoE needs it bare`, 'remove that interface: the PPP device carries the zone and the addresses');
      }
    }
    const ds = iface['ds-lite'];
    if (ds) {
      if (!resolveAftr(ds.aftr)) c.error('ds-lite.aftr-invalid', [...base, 'ds-lite', 'aftr'], `'${ds.aftr}' is neither an IPv6 address nor a known AFTR`, `use an IPv6 address or one of ${Object.keys(AFTR_PRESETS).join(', ')}`);
      if (iface.ipv6 === undefined) c.error('ds-lite.no-ipv6', [...base, 'ds-lite'], 'DS-Lite runs over IPv6, but this interface has no ipv6', "add 'ipv6: slaac' (IPoE gives the address by router advertisement)");
    }
    const members = iface.bridge ?? [];
    if (new Set(members).size !== members.length) c.error('bridge.duplicate-member', [...base, 'bridge'], 'a port is listed twice');
  }

  // Per node: devices unique, bridge ports not also configured as interfaces, no overlapping prefixes.
  for (const node of nodes) {
    const ifaces = interfacesOn(site, node);
    const byDevice = new Map<string, string>();
    const ports = new Map<string, string>();
    for (const [key, iface, dev] of ifaces) {
      const prior = byDevice.get(dev);
      if (prior) c.error('interface.duplicate-device', ['interfaces', key, 'device'], `device ${dev} is already used by interfaces.${prior}${nodes.length > 1 ? ` on node ${node}` : ''}`, 'one interface entry per device; list several addresses under one entry');
      else byDevice.set(dev, key);
      for (const m of iface.bridge ?? []) ports.set(m, key);
    }
    for (const [key, , dev] of ifaces) {
      const br = ports.get(dev);
      if (br) c.error('bridge.port-has-config', ['interfaces', key, 'device'], `${dev} is a port of bridge interfaces.${br}; a bridge port carries no addresses or zone of its own`, `remove interfaces.${key}; its traffic is the bridge's`);
    }
    const seen: { key: string; cidr: Cidr; path: PathSegment[] }[] = [];
    for (const [key, iface] of ifaces) {
      for (const field of ['ipv4', 'ipv6'] as const) {
        const v = pick(iface[field], node);
        parsedStatic(v).forEach((cidr, i) => {
          if (isLinkLocal(cidr.addr)) return;
          const p: PathSegment[] = ['interfaces', key, field];
          if (isPerNodeMap(iface[field])) p.push(node);
          if (Array.isArray(v)) p.push(i);
          for (const other of seen) {
            if (other.key !== key && overlaps(other.cidr, cidr)) {
              c.error('address.overlap', p, `${cidr.network} overlaps ${other.cidr.network} of interfaces.${other.key}${nodes.length > 1 ? ` on node ${node}` : ''}`,
                'each link needs its own subnet; to route public addresses onto a link use routes: [{to: ADDRESS}]');
            }
          }
          seen.push({ key, cidr, path: p });
        });
      }
    }
  }
}

function checkSets(site: Site, c: Collector) {
  for (const [name, set] of Object.entries(site.sets ?? {})) {
    const fam: Family = set.family === 'ipv4' ? 4 : 6;
    set.elements.forEach((e, i) => {
      const f = familyOfPrefix(e);
      if (f === fam) return;
      const p = ['sets', name, 'elements', i];
      const range = f ? null : /^(.+)-(.+)$/.exec(e);
      const rf = range ? [parseAddress(range[1]), parseAddress(range[2])] : undefined;
      if (f) {
        c.error('address.family-mismatch', p, `'${e}' is IPv${f} in an ${set.family} set`);
      } else if (rf && rf[0] && rf[1]) {
        if (rf[0].family !== fam || rf[1].family !== fam) c.error('address.family-mismatch', p, `'${e}' is not ${set.family}`);
      } else {
        c.error('address.invalid', p, `'${e}' is not an address, prefix or range`);
      }
    });
  }
}

function checkZoneRef(ref: string | string[], zones: string[], allowRouter: boolean, path: PathSegment[], c: Collector) {
  const list = asList(ref);
  list.forEach((z, i) => {
    const p = Array.isArray(ref) ? [...path, i] : path;
    if (z === ANY && list.length === 1) return;
    if (z === ROUTER && allowRouter) return;
    if (z === ROUTER) {
      c.error('ref.router-not-allowed', p, `'router' is a destination only`, 'traffic the router sends itself is not filtered by kairo');
    } else if (!zones.includes(z)) {
      c.error('ref.unknown-zone', p, `unknown zone '${z}'`, suggestNames(z, zones));
    }
  });
}

function checkAddrMatch(site: Site, v: string | string[] | undefined, path: PathSegment[], c: Collector): Set<Family> {
  const fams = new Set<Family>();
  asList(v).forEach((s, i) => {
    const p = Array.isArray(v) ? [...path, i] : path;
    if (s.startsWith('@')) {
      if (!site.sets?.[s.slice(1)]) {
        c.error('ref.unknown-set', p, `unknown set '${s.slice(1)}'`, suggestNames(s.slice(1), Object.keys(site.sets ?? {})));
        return;
      }
      if (Array.isArray(v) && v.length > 1) c.error('rule.set-in-list', p, 'a @set must stand alone, not in a list', 'put the other addresses into the set');
    }
    const f = familyOfMatch(site, s);
    if (f === undefined && !s.startsWith('@')) c.error('address.invalid', p, `'${s}' is not an address or prefix`);
    if (f) fams.add(f);
  });
  return fams;
}

function checkPorts(v: unknown, path: PathSegment[], c: Collector) {
  asList(v as (string | number)[]).forEach((p, i) => {
    const m = /^(\d+)-(\d+)$/.exec(String(p));
    if (m && (Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535 || Number(m[1]) < 1)) {
      c.error('port.range-invalid', Array.isArray(v) ? [...path, i] : path, `'${p}' is not a port range from low to high within 1-65535`);
    } else if (!m && (Number(p) > 65535 || Number(p) < 1)) {
      c.error('port.range-invalid', Array.isArray(v) ? [...path, i] : path, `'${p}' is not a port in 1-65535`);
    }
  });
}

function checkFirewall(site: Site, zones: string[], c: Collector) {
  const fw = site.firewall;
  if (!fw) return;
  const seenPairs = new Map<string, number>();
  (fw.policies ?? []).forEach((p, i) => {
    const base: PathSegment[] = ['firewall', 'policies', i];
    checkZoneRef(p.from, zones, false, [...base, 'from'], c);
    checkZoneRef(p.to, zones, true, [...base, 'to'], c);
    if (p.from === ANY || p.to === ANY) c.error('policy.any', base, "a policy names one zone pair; 'any' is for rules", 'use firewall.default for every pair without a policy');
    const k = `${p.from}>${p.to}`;
    if (seenPairs.has(k)) c.error('policy.duplicate', base, `policy ${p.from} → ${p.to} is already set by firewall.policies[${seenPairs.get(k)}]`, 'keep one policy per zone pair');
    else seenPairs.set(k, i);
  });
  const ruleNames = new Map<string, number>();
  (fw.rules ?? []).forEach((r, i) => {
    const base: PathSegment[] = ['firewall', 'rules', i];
    if (r.name !== undefined) {
      const prior = ruleNames.get(r.name);
      if (prior !== undefined) c.error('rule.duplicate-name', [...base, 'name'], `rule name '${r.name}' is already used by firewall.rules[${prior}]`, 'a name is the rule\'s identity in comments, counters and traces; make it unique');
      else ruleNames.set(r.name, i);
    }
    checkZoneRef(r.from, zones, false, [...base, 'from'], c);
    checkZoneRef(r.to, zones, true, [...base, 'to'], c);
    const fams = new Set<Family>([...checkAddrMatch(site, r.source, [...base, 'source'], c), ...checkAddrMatch(site, r.destination, [...base, 'destination'], c)]);
    const protos = asList(r.proto);
    if (protos.includes('icmp')) fams.add(4);
    if (protos.includes('icmpv6')) fams.add(6);
    if (r.family === 'ipv4') fams.add(4);
    if (r.family === 'ipv6') fams.add(6);
    if (fams.size > 1) {
      c.error('rule.mixed-family', base, 'this rule mixes IPv4 and IPv6 (addresses, icmp/icmpv6 or family)', 'split it into one rule per family');
    }
    const portProtos = protos.filter((p) => p === 'tcp' || p === 'udp' || p === 'sctp' || p === 'udplite');
    if ((r.port !== undefined || r['source-port'] !== undefined) && (protos.length === 0 || portProtos.length !== protos.length)) {
      c.error('rule.port-without-proto', base, 'ports need proto tcp, udp or sctp (and only those)', "add 'proto: tcp' (or [tcp, udp])");
    }
    if (r['icmp-type'] !== undefined && !(protos.length === 1 && (protos[0] === 'icmp' || protos[0] === 'icmpv6'))) {
      c.error('rule.icmp-type-without-icmp', [...base, 'icmp-type'], 'icmp-type needs proto icmp or icmpv6, and that protocol alone', 'put other protocols in a rule of their own');
    }
    checkPorts(r.port, [...base, 'port'], c);
    checkPorts(r['source-port'], [...base, 'source-port'], c);
  });
}

function resolvesOut(site: Site, out: string, zones: string[]): boolean {
  return zones.includes(out) || out in site.interfaces;
}

function checkNat(site: Site, nodes: string[], zones: string[], c: Collector) {
  const nat = site.nat;
  if (!nat) return;
  const outHint = (o: string) => suggestNames(o, [...zones, ...Object.keys(site.interfaces)]);
  for (const kind of ['masquerade', 'snat', 'npt'] as const) {
    (nat[kind] ?? []).forEach((m, i) => {
      if (!resolvesOut(site, m.out, zones)) c.error('ref.unknown-interface', ['nat', kind, i, 'out'], `'${m.out}' is neither a zone nor an interface`, outHint(m.out));
    });
  }
  (nat.masquerade ?? []).forEach((m, i) => {
    const fams = checkAddrMatch(site, m.source, ['nat', 'masquerade', i, 'source'], c);
    if (m.family !== 'both' && fams.size > 0) {
      const want: Family = m.family === 'ipv6' ? 6 : 4;
      if ([...fams].some((f) => f !== want)) c.error('rule.mixed-family', ['nat', 'masquerade', i, 'source'], `sources do not match family ${m.family ?? 'ipv4'}`, m.family ? undefined : "add 'family: ipv6' (or both)");
    }
  });
  (nat.snat ?? []).forEach((s, i) => {
    const fams = checkAddrMatch(site, s.source, ['nat', 'snat', i, 'source'], c);
    const to = parseAddress(s.to);
    if (!to) c.error('address.invalid', ['nat', 'snat', i, 'to'], `'${s.to}' is not an address`);
    else if ([...fams].some((f) => f !== to.family)) c.error('rule.mixed-family', ['nat', 'snat', i], 'sources and the new source address are of different families');
  });
  (nat.npt ?? []).forEach((n, i) => {
    const inside = parseCidr(n.inside);
    if (!inside || inside.family !== 6) c.error('address.invalid', ['nat', 'npt', i, 'inside'], `'${n.inside}' is not an IPv6 prefix`);
    if (typeof n.outside !== 'string') {
      const up = site.interfaces[n.outside.delegated];
      if (!up?.['prefix-delegation']) c.error('pd.unknown-uplink', ['nat', 'npt', i, 'outside', 'delegated'], `'${n.outside.delegated}' is not an interface with prefix-delegation`, suggestNames(n.outside.delegated, Object.entries(site.interfaces).filter(([, x]) => x['prefix-delegation']).map(([k]) => k)));
      else if (n.outside.subnet >= 2 ** (64 - (up['prefix-delegation'].length ?? 56))) c.error('pd.subnet-range', ['nat', 'npt', i, 'outside', 'subnet'], `a /${up['prefix-delegation'].length ?? 56} has ${2 ** (64 - (up['prefix-delegation'].length ?? 56))} /64s; subnet ${n.outside.subnet} is not one of them`);
      if (inside && inside.prefix !== 64) c.error('nat.npt-length', ['nat', 'npt', i, 'inside'], `a /64 of a delegated prefix is the outside: the inside must be a /64 too, not /${inside.prefix}`, 'NPTv6 maps prefixes of equal length (RFC 6296)');
      return;
    }
    const outside = parseCidr(n.outside);
    if (!outside || outside.family !== 6) c.error('address.invalid', ['nat', 'npt', i, 'outside'], `'${n.outside}' is not an IPv6 prefix`);
    if (inside && outside && inside.prefix !== outside.prefix) c.error('nat.npt-length', ['nat', 'npt', i], `prefix lengths differ (/${inside.prefix} inside, /${outside.prefix} outside)`, 'NPTv6 maps prefixes of equal length (RFC 6296)');
  });

  const masqZones = (nat.masquerade ?? []).map((m) => m.out).filter((o) => zones.includes(o));
  const seen = new Map<string, { i: number; target: string }>();
  const forwardNames = new Map<string, number>();
  (nat.forwards ?? []).forEach((f, i) => {
    const base: PathSegment[] = ['nat', 'forwards', i];
    if (f.name !== undefined) {
      const prior = forwardNames.get(f.name);
      if (prior !== undefined) c.error('forward.duplicate-name', [...base, 'name'], `forward name '${f.name}' is already used by nat.forwards[${prior}]`, 'the name is the mapping\'s identity (it is removed by it); make it unique');
      else forwardNames.set(f.name, i);
    }
    if (f.from !== undefined) checkZoneRef(f.from, zones, false, [...base, 'from'], c);
    else if (masqZones.length === 0) c.error('forward.no-from', base, "no 'from' zone and no masquerade zone to default to", "add 'from: wan' (the zone the connection arrives on)");
    checkPorts(f.port, [...base, 'port'], c);
    if (hasScopeId(f.to)) {
      c.error('nat.target-link-local', [...base, 'to'], `'${f.to}' carries a scope id; nft and iptables cannot DNAT to a link-local address (it is only meaningful with an interface, and a NAT target has none)`,
        'give the target a ULA (e.g. fd00::3/64 on the bridge, as seed 001 does) and forward to [fd00::3]:PORT');
      return;
    }
    const t = parseEndpoint(f.to);
    if (!t) {
      c.error('nat.target-invalid', [...base, 'to'], `'${f.to}' is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT`, 'e.g. 10.0.1.1:80 or [fd00::3]:80');
      return;
    }
    if (isLinkLocal(t.addr)) {
      c.error('nat.target-link-local', [...base, 'to'], `${t.addr} is link-local: a DNAT target cannot be link-local, because the address is only unique together with an interface (scope id) and NAT has no way to say which`,
        'give the target a ULA (e.g. fd00::3/64 on the bridge, as seed 001 does) and forward to [fd00::3]:PORT');
    }
    if (t.portEnd !== undefined) c.error('nat.target-invalid', [...base, 'to'], 'a target port range is not supported; forward a public range to an address to keep the ports', `write 'to: ${t.addr}'`);
    const range = /^(\d+)-(\d+)$/.exec(String(f.port));
    if (range && t.port !== undefined) c.error('nat.target-invalid', [...base, 'to'], 'a public port range keeps its ports; the target takes no port', `write 'to: ${t.addr}'`);
    if (f.destination) {
      const d = parseAddress(f.destination);
      if (!d) c.error('address.invalid', [...base, 'destination'], `'${f.destination}' is not an address`);
      else if (d.family !== t.family) c.error('rule.mixed-family', base, `destination ${f.destination} and target ${f.to} are of different families`, 'NAT46/NAT64 is not a port forward; use one family');
    }
    // Duplicates and conflicts: same arrival, family, protocol, address and overlapping port.
    const [lo, hi] = range ? [Number(range[1]), Number(range[2])] : [Number(f.port), Number(f.port)];
    for (const proto of asList(f.proto ?? ['tcp'])) {
      for (const from of asList(f.from ?? masqZones)) {
        for (let p = lo; p <= hi && p - lo < 70000; p++) {
          const key = `${t.family}|${from}|${proto}|${f.destination ?? '*'}|${p}`;
          const prior = seen.get(key);
          if (prior) {
            const same = prior.target === f.to;
            c.error(same ? 'forward.duplicate' : 'forward.conflict', base,
              same ? `same forward as nat.forwards[${prior.i}] (${proto} ${p})` : `${proto} port ${p} is already forwarded to ${prior.target} by nat.forwards[${prior.i}]`,
              same ? 'remove one of them' : 'a public port can go to one target only; pick another port or set destination: to tell public addresses apart');
            p = hi; // one message per pair of forwards is enough
          } else seen.set(key, { i, target: f.to });
        }
      }
    }
  });
  void nodes;
}

function checkSysctl(site: Site, c: Collector) {
  const nat = site.nat ?? {};
  const s = site.sysctl ?? {};
  if (s['ipv4-forwarding'] !== false && s['ipv6-forwarding'] !== false) return;
  const targets = (nat.forwards ?? []).map((f) => parseEndpoint(f.to));
  const needs4 = [...(nat.masquerade ?? []).filter((m) => m.family !== 'ipv6'), ...(nat.snat ?? []).filter((x) => parseAddress(x.to)?.family === 4)].length > 0 ||
    targets.some((t) => t?.family === 4);
  const needs6 = [...(nat.masquerade ?? []).filter((m) => m.family && m.family !== 'ipv4'), ...(nat.npt ?? [])].length > 0 ||
    targets.some((t) => t?.family === 6);
  if (s['ipv4-forwarding'] === false && needs4) {
    c.error('sysctl.forwarding-disabled', ['sysctl', 'ipv4-forwarding'], 'IPv4 forwarding is off, but the site has IPv4 NAT or port forwards that need it', 'remove the line (kairo turns forwarding on for a router) or drop the NAT');
  }
  if (s['ipv6-forwarding'] === false && needs6) {
    c.error('sysctl.forwarding-disabled', ['sysctl', 'ipv6-forwarding'], 'IPv6 forwarding is off, but the site has NAT66, NPTv6 or IPv6 port forwards that need it', 'remove the line or drop the IPv6 NAT');
  }
}
