// Site (already verified) → one NodeModel per router node. No strings of any daemon's syntax here.
import type { Site, RuleConfig } from '../config/schema.js';
import { parseAddress, parseCidr, parseEndpoint, type Family } from '../lib/ip.js';
import { resolveAftr } from '../features/ds-lite/aftr.js';
import type { Secrets } from '../config/secrets.js';
import { formatPath } from '../config/diagnostics.js';
import {
  ANY, ROUTER, asList, familyOfMatch, interfacesOn, nodeNames, parsedStatic, pick, zoneNames,
} from './resolve.js';
import type {
  AddrMatch, FilterRule, ForwardModel, IfaceModel, NodeModel, PairPolicy, ZonePair,
} from './types.js';

export function buildModels(site: Site, secrets: Secrets = new Map()): NodeModel[] {
  return nodeNames(site).map((n) => buildNodeModel(site, n, secrets));
}

function ipMode(v: unknown): 'static' | 'slaac' | 'dhcp' | 'none' {
  if (v === undefined) return 'none';
  if (v === 'slaac' || v === 'dhcp') return v;
  return 'static';
}

export function buildNodeModel(site: Site, node: string, secrets: Secrets = new Map()): NodeModel {
  const interfaces: IfaceModel[] = interfacesOn(site, node).map(([key, iface, device]) => {
    const v4 = pick(iface.ipv4, node);
    const v6 = pick(iface.ipv6, node);
    const ipv6Mode = ipMode(v6);
    return {
      key,
      path: formatPath(['interfaces', key]),
      device,
      zone: iface.zone,
      ipv4: parsedStatic(v4),
      ipv4Dhcp: v4 === 'dhcp',
      ipv6: parsedStatic(v6),
      ipv6Mode,
      gateway4: iface.gateway4,
      gateway6: iface.gateway6,
      peer4: iface.peer4,
      // A forwarding router ignores RAs unless accept_ra=2; SLAAC uplinks need it (seed 002).
      acceptRa: iface['accept-ra'] ?? (ipv6Mode === 'slaac' || ipv6Mode === 'dhcp'),
      rpFilter: iface['rp-filter'],
      bridge: iface.bridge,
      mtu: iface.mtu,
      routes: iface.routes ?? [],
      pd: iface['prefix-delegation'] && { length: iface['prefix-delegation'].length ?? 56, path: formatPath(['interfaces', key, 'prefix-delegation']) },
      ipv6From: iface['ipv6-from'] && {
        uplinkKey: iface['ipv6-from'].uplink,
        uplinkDevice: pick(site.interfaces[iface['ipv6-from'].uplink]?.device, node) ?? iface['ipv6-from'].uplink,
        subnet: iface['ipv6-from'].subnet,
        path: formatPath(['interfaces', key, 'ipv6-from']),
      },
      hosts: (iface.hosts ?? []).map((h, n) => ({ ...h, path: formatPath(['interfaces', key, 'hosts', n]) })),
      pppoe: iface.pppoe && {
        over: iface.pppoe.over,
        user: iface.pppoe.user,
        password: secrets.get(formatPath(['interfaces', key, 'pppoe', 'password']))!,
        mtu: iface.pppoe.mtu ?? 1492,
        serviceName: iface.pppoe['service-name'],
        unit: Number(/^ppp(\d+)$/.exec(device)?.[1] ?? 0),
        path: formatPath(['interfaces', key, 'pppoe']),
      },
      dsLite: iface['ds-lite'] && {
        tunnel: iface['ds-lite'].tunnel ?? 'dslite0',
        aftr: resolveAftr(iface['ds-lite'].aftr)!,
        mtu: iface['ds-lite'].mtu ?? 1460,
        waitSeconds: iface['ds-lite']['wait-seconds'] ?? 120,
        path: formatPath(['interfaces', key, 'ds-lite']),
      },
    };
  });

  const zones = new Map<string, string[]>();
  for (const z of zoneNames(site)) zones.set(z, []);
  for (const i of interfaces) {
    zones.get(i.zone)!.push(i.device);
    // The softwire carries the uplink's IPv4: same zone, same policies.
    if (i.dsLite) zones.get(i.zone)!.push(i.dsLite.tunnel);
  }

  const pairs = buildPairs(site, [...zones.keys()]);
  const devicesOf = (out: string): string[] => {
    if (zones.has(out)) return zones.get(out)!;
    const i = interfaces.find((x) => x.key === out);
    return i ? [i.device] : [];
  };

  const nat = site.nat ?? {};
  const masquerade = (nat.masquerade ?? []).flatMap((m, i) => {
    const fams: Family[] = m.family === 'both' ? [4, 6] : m.family === 'ipv6' ? [6] : [4];
    return fams.map((family) => ({
      path: formatPath(['nat', 'masquerade', i]),
      devices: devicesOf(m.out),
      family,
      sources: expandSets(site, asList(m.source)).filter((s) => familyOfMatch(site, s) === family),
    }));
  });
  const snat = (nat.snat ?? []).map((s, i) => ({
    path: formatPath(['nat', 'snat', i]),
    devices: devicesOf(s.out),
    family: parseAddress(s.to)!.family,
    sources: expandSets(site, asList(s.source)),
    to: s.to,
  }));
  const npt = (nat.npt ?? []).flatMap((n, i) => (typeof n.outside === 'string' ? [{
    path: formatPath(['nat', 'npt', i]),
    devices: devicesOf(n.out),
    inside: parseCidr(n.inside)!,
    outside: parseCidr(n.outside)!,
  }] : []));
  const nptPd = (nat.npt ?? []).flatMap((n, i) => {
    if (typeof n.outside === 'string') return [];
    const up = site.interfaces[n.outside.delegated];
    return [{
      path: formatPath(['nat', 'npt', i]),
      index: i,
      devices: devicesOf(n.out),
      inside: parseCidr(n.inside)!,
      uplinkDevice: pick(up.device, node) ?? n.outside.delegated,
      length: up['prefix-delegation']?.length ?? 56,
      subnet: n.outside.subnet,
    }];
  });

  const masqZones = (nat.masquerade ?? []).map((m) => m.out).filter((o) => zones.has(o));
  // Forwards share a handful of arrival zones: resolve each (zones, family) once, not 10 000 times.
  const arrival = new Map<string, { fromDevices: string[]; hairpin?: ForwardModel['hairpin'] }>();
  const forwards: ForwardModel[] = (nat.forwards ?? []).map((f, i) => {
    const target = parseEndpoint(f.to)!;
    const fromZones = asList(f.from ?? masqZones);
    const range = /^(\d+)-(\d+)$/.exec(String(f.port));
    const family = target.family;
    const key = `${fromZones.join(',')}|${family}|${f.hairpin !== false}|${f.destination ?? ''}`;
    let a = arrival.get(key);
    if (!a) arrival.set(key, (a = resolveArrival(fromZones, family, f.hairpin !== false, f.destination)));
    return {
      path: formatPath(['nat', 'forwards', i]),
      name: f.name ?? `forward-${i}`,
      label: f.name ? `nat.forwards[${f.name}]` : formatPath(['nat', 'forwards', i]),
      family,
      protos: asList(f.proto ?? 'tcp'),
      port: range ? Number(range[1]) : Number(f.port),
      portEnd: range ? Number(range[2]) : undefined,
      destination: f.destination,
      target,
      fromDevices: a.fromDevices,
      hairpin: a.hairpin,
    };
  });

  function resolveArrival(fromZones: string[], family: Family, wantHairpin: boolean, destination: string | undefined) {
    const fromZoneList = fromZones.includes(ANY) ? [...zones.keys()] : fromZones;
    const fromDevices = fromZoneList.flatMap((z) => zones.get(z) ?? []);
    let hairpin: ForwardModel['hairpin'];
    if (wantHairpin) {
      const insideIfaces = interfaces.filter((x) => !fromZoneList.includes(x.zone));
      const fromIfaces = interfaces.filter((x) => fromZoneList.includes(x.zone));
      // "Public" = the forward's own address, else the static addresses of the arrival interfaces;
      // with a dynamic uplink (DHCP, PPPoE) any local address stands for it.
      const statics = fromIfaces.flatMap((x) => (family === 4 ? x.ipv4 : x.ipv6)).map((c) => c.addr.toString());
      const dynamic = fromIfaces.some((x) => (family === 4 ? x.ipv4Dhcp || Boolean(x.pppoe) : x.ipv6Mode === 'slaac' || x.ipv6Mode === 'dhcp'));
      const publicAddresses = destination ? [destination] : dynamic || statics.length === 0 ? 'local' : statics;
      const sources = insideIfaces.flatMap((x) => (family === 4 ? x.ipv4 : x.ipv6)).map((c) => c.network);
      if (insideIfaces.length > 0) hairpin = { devices: insideIfaces.map((x) => x.device), publicAddresses, sources };
    }
    return { fromDevices, hairpin };
  }

  const hasV6 = interfaces.some((i) => i.ipv6Mode !== 'none');
  const s = site.sysctl ?? {};
  return {
    site: site.name ?? 'site',
    node,
    interfaces,
    zones,
    pairs,
    defaultAction: site.firewall?.default ?? 'drop',
    sets: Object.entries(site.sets ?? {}).map(([name, set]) => ({
      name,
      family: set.family === 'ipv4' ? 4 : 6,
      elements: set.elements,
      interval: set.elements.some((e) => e.includes('/') || e.includes('-')),
    })),
    masquerade,
    snat,
    npt,
    nptPd,
    forwards,
    sysctl: {
      ipv4Forwarding: s['ipv4-forwarding'] ?? true,
      ipv6Forwarding: s['ipv6-forwarding'] ?? hasV6,
      extra: Object.fromEntries(Object.entries(s.extra ?? {}).map(([k, v]) => [k, String(v)])),
    },
  };
}

/** NAT tables cannot see the filter table's sets; NAT source lists carry the elements instead. */
function expandSets(site: Site, list: string[]): string[] {
  return list.flatMap((s) => (s.startsWith('@') ? site.sets?.[s.slice(1)]?.elements ?? [] : [s]));
}

function addrMatch(site: Site, v: string | string[] | undefined): AddrMatch | undefined {
  const list = asList(v);
  if (list.length === 0) return undefined;
  if (list.length === 1 && list[0].startsWith('@')) {
    return { family: familyOfMatch(site, list[0])!, set: list[0].slice(1) };
  }
  const family = familyOfMatch(site, list[0])!;
  return { family, prefixes: list.map((s) => parseCidr(s, true)?.text.replace(family === 4 ? /\/32$/ : /\/128$/, '') ?? s) };
}

function logPrefix(log: boolean | string | undefined, fallback: string): string | undefined {
  if (log === undefined || log === false) return undefined;
  return log === true ? fallback : log;
}

function toRule(site: Site, r: RuleConfig, i: number): FilterRule {
  const source = addrMatch(site, r.source);
  const destination = addrMatch(site, r.destination);
  const protos = asList(r.proto);
  let family: Family | undefined = r.family === 'ipv4' ? 4 : r.family === 'ipv6' ? 6 : undefined;
  family ??= source?.family ?? destination?.family;
  if (!family && protos.includes('icmp')) family = 4;
  if (!family && protos.includes('icmpv6')) family = 6;
  const path = formatPath(['firewall', 'rules', i]);
  return {
    path,
    label: r.name ? `firewall.rules[${r.name}]` : path,
    name: r.name,
    family,
    protos,
    ports: asList(r.port).map(String),
    sourcePorts: asList(r['source-port']).map(String),
    source,
    destination,
    icmpTypes: asList(r['icmp-type']),
    log: logPrefix(r.log, `kairo ${r.name ?? path} `),
    limit: typeof r.limit === 'string' ? { rate: r.limit } : r.limit,
    action: r.action,
  };
}

/** Every zone pair that has rules or a policy, rules in file order (first match wins, as in VyOS). */
function buildPairs(site: Site, zones: string[]): ZonePair[] {
  const byKey = new Map<string, ZonePair>();
  const get = (from: string, to: string) => {
    const k = `${from}>${to}`;
    let p = byKey.get(k);
    if (!p) byKey.set(k, (p = { from, to, rules: [] }));
    return p;
  };
  const expand = (ref: string | string[], withRouter: boolean) => {
    const l = asList(ref);
    if (l.length === 1 && l[0] === ANY) return zones;
    return l.filter((z) => withRouter || z !== ROUTER);
  };
  (site.firewall?.policies ?? []).forEach((p, i) => {
    const policy: PairPolicy = {
      action: p.action,
      log: logPrefix(p.log, `kairo ${p.from}>${p.to} ${p.action} `),
      path: formatPath(['firewall', 'policies', i]),
      label: `firewall.policies[${p.from}>${p.to}]`,
    };
    get(p.from, p.to).policy = policy;
  });
  (site.firewall?.rules ?? []).forEach((r, i) => {
    const rule = toRule(site, r, i);
    for (const from of expand(r.from, false)) for (const to of expand(r.to, true)) get(from, to).rules.push(rule);
  });
  return [...byKey.values()];
}
