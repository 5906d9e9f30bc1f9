// The resolver's model of one node: the links it answers on (the router's own addresses there and
// the subnets allowed to ask), where it gets answers (the root or forwarders, over TLS or not), the
// local names (declared hosts and DHCP reservations, forward and reverse) and the block list.
// Built from a verified site, so values parse.
import { parseAddress, type Cidr } from '../../lib/ip.js';
import { pick } from '../../model/resolve.js';
import type { IfaceModel } from '../../model/types.js';
import { canonical, fullName } from './names.js';
import { dnsOf, forwarderOf, type DnsConfig } from './schema.js';

export interface DnsLink {
  key: string;
  path: string;
  device: string;
  zone: string;
  /** The router's addresses on the link: what the resolver listens on, and what DHCP hands out. */
  v4: string[];
  v6: string[];
  /** The link's subnets: the clients allowed to ask. */
  subnets: string[];
}

export interface Forwarder {
  address: string;
  port: number;
  tlsName?: string;
}

export interface LocalName {
  name: string;
  v4: string[];
  v6: string[];
}

export interface DnsModel {
  links: DnsLink[];
  /** Empty: full recursion from the root servers. */
  forwarders: Forwarder[];
  tls: boolean;
  domain: string;
  names: LocalName[];
  blocklist: string[];
  queryLog: boolean;
  cacheSize?: string;
  dnssec: boolean;
}

type RawInterface = { zone: string; device: unknown; ipv4?: unknown; ipv6?: unknown; gateway4?: unknown; gateway6?: unknown; peer4?: unknown; pppoe?: unknown; 'ds-lite'?: unknown };
type DhcpHosts = { name: string; ipv4?: string; ipv6?: string }[];
export type DnsSite = {
  nodes?: Record<string, unknown>;
  interfaces: Record<string, RawInterface & { dhcp?: true | { hosts?: DhcpHosts } }>;
  dns?: true | DnsConfig;
};

const values = (v: unknown): unknown[] => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : [v]);

/**
 * An interface that faces the ISP: it has a gateway or a point-to-point peer, takes its addresses
 * from the ISP (DHCP, SLAAC), or is a PPPoE session or a DS-Lite uplink. Read from the site file,
 * so the checks and the model agree on every node.
 */
export function isUplink(i: RawInterface): boolean {
  if (i.gateway4 !== undefined || i.gateway6 !== undefined || i.peer4 !== undefined || i.pppoe !== undefined || i['ds-lite'] !== undefined) return true;
  return values(i.ipv4).includes('dhcp') || values(i.ipv6).some((v) => v === 'slaac' || v === 'dhcp');
}

/** Zones with an uplink in them: the resolver never answers there. */
export function uplinkZones(site: DnsSite): Set<string> {
  return new Set(Object.values(site.interfaces).filter(isUplink).map((i) => i.zone));
}

/** The zones the resolver serves: as written, else every zone of an interface without an uplink in its zone. */
export function servedZones(site: DnsSite, cfg: DnsConfig): string[] {
  if (cfg.serve) return cfg.serve;
  const up = uplinkZones(site);
  return [...new Set(Object.values(site.interfaces).map((i) => i.zone))].filter((z) => !up.has(z));
}

/** Local names with where each comes from (for the checks): declared hosts first, then DHCP reservations. */
export function localNamesWithOrigin(site: DnsSite, cfg: DnsConfig): (LocalName & { path: (string | number)[] })[] {
  const out: (LocalName & { path: (string | number)[] })[] = [];
  for (const [name, addrs] of Object.entries(cfg.hosts ?? {})) {
    const list = Array.isArray(addrs) ? addrs : [addrs];
    const parsed = list.map((a) => parseAddress(a));
    out.push({ name: fullName(name, cfg.domain), v4: list.filter((_, i) => parsed[i]?.family === 4), v6: list.filter((_, i) => parsed[i]?.family === 6), path: ['dns', 'hosts', name] });
  }
  for (const [key, iface] of Object.entries(site.interfaces)) {
    const d = iface.dhcp;
    if (!d || d === true) continue;
    (d.hosts ?? []).forEach((h, i) => {
      if (!h.ipv4 && !h.ipv6) return;
      out.push({ name: fullName(h.name, cfg.domain), v4: h.ipv4 ? [h.ipv4] : [], v6: h.ipv6 ? [h.ipv6] : [], path: ['interfaces', key, 'dhcp', 'hosts', i] });
    });
  }
  return out;
}

/** One entry per name (a reservation that repeats a declared host's address adds nothing). */
export function localNames(site: DnsSite, cfg: DnsConfig): LocalName[] {
  const byName = new Map<string, LocalName>();
  for (const n of localNamesWithOrigin(site, cfg)) {
    const e = byName.get(n.name) ?? { name: n.name, v4: [], v6: [] };
    for (const a of n.v4) if (!e.v4.includes(a)) e.v4.push(a);
    for (const a of n.v6) if (!e.v6.includes(a)) e.v6.push(a);
    byName.set(n.name, e);
  }
  return [...byName.values()];
}

export function buildDnsModel(site: DnsSite, node: string, interfaces: IfaceModel[]): DnsModel | undefined {
  const cfg = dnsOf(site.dns);
  if (!cfg) return undefined;
  const served = new Set(servedZones(site, cfg));
  const links: DnsLink[] = [];
  for (const i of interfaces) {
    if (!served.has(i.zone) || pick(site.interfaces[i.key].device as string | Record<string, string>, node) === undefined) continue;
    const global6 = i.ipv6.filter((c) => c.addr.range() !== 'linkLocal');
    const addrs = (cs: Cidr[]) => cs.map((c) => c.addr.toString());
    if (i.ipv4.length === 0 && global6.length === 0) continue; // no static address to listen on (verify warned)
    links.push({ key: i.key, path: i.path, device: i.device, zone: i.zone, v4: addrs(i.ipv4), v6: addrs(global6), subnets: [...new Set([...i.ipv4, ...global6].map((c) => c.network))] });
  }
  const forwarders = (cfg.forwarders ?? []).map(forwarderOf).map((f) => ({
    address: parseAddress(f.address)!.addr.toString(), port: f.port ?? (f['tls-name'] ? 853 : 53), ...(f['tls-name'] ? { tlsName: canonical(f['tls-name']) } : {}),
  }));
  const blocklist = [...new Set((cfg.blocklist?.domains ?? []).map(canonical))];
  return {
    links, forwarders, tls: forwarders.some((f) => f.tlsName), domain: canonical(cfg.domain), names: localNames(site, cfg), blocklist,
    queryLog: cfg['query-log'], cacheSize: cfg['cache-size']?.toLowerCase(), dnssec: cfg.dnssec,
  };
}

/** The router's addresses on a link when the resolver serves it (DHCP's DNS option, router advertisements' RDNSS). */
export function resolverAddresses(m: DnsModel | undefined, ifaceKey: string): { v4?: string; v6?: string } {
  const l = m?.links.find((x) => x.key === ifaceKey);
  return l ? { ...(l.v4[0] ? { v4: l.v4[0] } : {}), ...(l.v6[0] ? { v6: l.v6[0] } : {}) } : {};
}
