// The DHCP model of one node: per served link its DHCPv4 subnet and its DHCPv6 subnet, with the
// pools this node leases (its share when the range is split across a pair), options and
// reservations. Built from a verified site, so values parse.
import { parseCidr, type Cidr } from '../../lib/ip.js';
import { asList, isPerNodeMap, nodeNames, pick } from '../../model/resolve.js';
import type { Secret } from '../../config/secret.js';
import type { IfaceModel, SiteBase } from '../../model/types.js';
import { addrBig, bounds, defaultPool4, derivedSubnetId, parsePool, splitRange, without, type Range } from './pools.js';
import { seconds, type DhcpHostConfig, type DhcpInterfaceConfig } from './schema.js';

export interface Reservation {
  name: string;
  mac?: string;
  duid?: string;
  ipv4?: string;
  ipv6?: string;
  prefix?: string;
}

export interface Subnet4 {
  id: number;
  subnet: Cidr;
  pools: Range[];
  router: string;
  dns: string[];
  domain?: string;
  search: string[];
  ntp: string[];
  mtu?: number;
  routes: { to: Cidr; via: string }[];
  leaseTime: number;
  hosts: Reservation[];
}

export interface Subnet6 {
  id: number;
  subnet: Cidr;
  pools: Range[];
  delegate?: { prefix: Cidr; length: number };
  dns: string[];
  search: string[];
  ntp: string[];
  leaseTime: number;
  hosts: Reservation[];
}

export interface DhcpLink {
  key: string;
  path: string;
  device: string;
  zone: string;
  v4?: Subnet4;
  v6?: Subnet6;
}

export type LeaseDatabase =
  | { type: 'memfile' }
  | { type: 'mysql' | 'postgresql'; host: string; port?: number; name: string; user: string; password: Secret };

export interface DhcpModel {
  links: DhcpLink[];
  db: LeaseDatabase;
}

export type DhcpSite = Pick<SiteBase, 'nodes'> & {
  interfaces: Record<string, { device: unknown; ipv4?: unknown; ipv6?: unknown; dhcp?: true | DhcpInterfaceConfig }>;
};

/** The interface's `dhcp:` with `true` read as "all defaults". */
export function dhcpOf(v: true | DhcpInterfaceConfig | undefined): DhcpInterfaceConfig | undefined {
  if (v === undefined) return undefined;
  return v === true ? { 'lease-time': '12h' } : v;
}

/** Nodes that have the interface, in node order (a split gives part k to the k-th of them). */
export function nodesWith(site: DhcpSite, key: string): string[] {
  return nodeNames(site).filter((n) => pick(site.interfaces[key].device as string | Record<string, string>, n) !== undefined);
}

/** Every address the routers hold on the link (all nodes), which no pool may hand out. */
export function routerAddresses(site: DhcpSite, key: string): bigint[] {
  const iface = site.interfaces[key];
  const out: bigint[] = [];
  for (const n of nodeNames(site)) {
    for (const field of ['ipv4', 'ipv6'] as const) {
      const v = pick(iface[field] as unknown, n);
      for (const s of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) {
        const c = parseCidr(String(s));
        if (c) out.push(bounds(parseCidr(c.addr.toString(), true)!).lo);
      }
    }
  }
  return out;
}

/**
 * The ranges one node leases on a link: its own entry of a per-node map as written, or its share
 * of a range written once (split between the nodes that have the link), or the default pool.
 */
export function poolsFor(site: DhcpSite, key: string, node: string, family: 4 | 6, subnet: Cidr | undefined): Range[] {
  const d = dhcpOf(site.interfaces[key].dhcp)!;
  const written = family === 4 ? d.pool : d.pool6;
  if (written === undefined) {
    // IPv6 addresses only where pool6 says so (SLAAC is the default there).
    if (family === 6 || !subnet) return [];
    const def = defaultPool4(subnet!);
    if (!def) return [];
    const holders = nodesWith(site, key);
    const mine = holders.length > 1 ? splitRange(def, holders.length)[holders.indexOf(node)] : def;
    return mine ? without(mine, [...routerAddresses(site, key), ...(d.router ? [addrBig(d.router)?.n ?? -1n] : [])]) : [];
  }
  if (isPerNodeMap(written)) return asList(pick(written, node)).map((t) => parsePool(t)).filter((r): r is Range => typeof r !== 'string');
  const ranges = asList(written).map((t) => parsePool(t)).filter((r): r is Range => typeof r !== 'string');
  const holders = nodesWith(site, key);
  if (holders.length < 2) return ranges;
  const k = holders.indexOf(node);
  return ranges.flatMap((r) => splitRange(r, holders.length)[k] ?? []);
}

function reservations(hosts: DhcpHostConfig[] | undefined, family: 4 | 6): Reservation[] {
  return (hosts ?? []).filter((h) => (family === 4 ? h.ipv4 || h.mac : h.ipv6 || h.prefix || h.duid)).map((h) => ({
    name: h.name, mac: h.mac?.toLowerCase(), duid: h.duid?.toLowerCase(), ipv4: h.ipv4, ipv6: h.ipv6, prefix: h.prefix,
  }));
}

export function buildDhcpModel(site: DhcpSite & { dhcp?: { 'lease-database': LeaseDatabaseConfig } }, node: string, interfaces: IfaceModel[], secrets: Map<string, Secret>, resolverOn: (i: IfaceModel) => { v4?: string; v6?: string }): DhcpModel | undefined {
  const links: DhcpLink[] = [];
  for (const i of interfaces) {
    const d = dhcpOf(site.interfaces[i.key].dhcp);
    if (!d) continue;
    const resolver = resolverOn(i);
    const link: DhcpLink = { key: i.key, path: i.path, device: i.device, zone: i.zone };
    const s4 = i.ipv4[0];
    if (s4) {
      const subnet = parseCidr(s4.network)!;
      link.v4 = {
        id: d['subnet-id'] ?? derivedSubnetId(subnet),
        subnet,
        pools: poolsFor(site, i.key, node, 4, subnet),
        router: d.router ?? s4.addr.toString(),
        dns: d.dns ?? (resolver.v4 ? [resolver.v4] : []),
        domain: d.domain,
        search: d.search ?? [],
        ntp: (d.ntp ?? []).filter((a) => !a.includes(':')),
        mtu: d.mtu,
        routes: (d.routes ?? []).map((r) => ({ to: parseCidr(r.to, true)!, via: r.via })),
        leaseTime: seconds(d['lease-time']),
        hosts: reservations(d.hosts, 4).filter((h) => h.mac),
      };
    }
    const s6 = i.ipv6.find((a) => a.addr.range() !== 'linkLocal');
    const pools6 = s6 ? poolsFor(site, i.key, node, 6, s6) : [];
    const hosts6 = reservations(d.hosts, 6).filter((h) => h.duid || (h.mac && (h.ipv6 || h.prefix)));
    if (s6 && (pools6.length || d.delegate || hosts6.length)) {
      const subnet = parseCidr(s6.network)!;
      link.v6 = {
        id: d['subnet-id6'] ?? derivedSubnetId(subnet),
        subnet,
        pools: pools6,
        delegate: d.delegate ? { prefix: parseCidr(d.delegate.prefix)!, length: d.delegate.length } : undefined,
        dns: (d.dns ?? []).filter((a) => a.includes(':')).concat(d.dns ? [] : resolver.v6 ? [resolver.v6] : []),
        search: d.search ?? (d.domain ? [d.domain] : []),
        ntp: (d.ntp ?? []).filter((a) => a.includes(':')),
        leaseTime: seconds(d['lease-time']),
        hosts: hosts6,
      };
    }
    if (link.v4 && d.dns) link.v4.dns = d.dns.filter((a) => !a.includes(':'));
    links.push(link);
  }
  if (links.length === 0) return undefined;
  const cfg = site.dhcp?.['lease-database'] ?? { type: 'memfile' as const };
  const db: LeaseDatabase = cfg.type === 'memfile' ? { type: 'memfile' } : { ...cfg, password: secrets.get('dhcp.lease-database.password')! };
  return { links, db };
}

export type LeaseDatabaseConfig = { type: 'memfile' } | { type: 'mysql' | 'postgresql'; host: string; port?: number; name: string; user: string; password: unknown };
