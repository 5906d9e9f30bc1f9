// The lab topology for a site, as data (pure): which namespaces, which links, which addresses,
// which servers. Running it is src/lab/run.ts's job.
//
// Every interface key of the site is a link ("segment"). Routers get the site's device names; the
// lab adds an ISP on the uplink (the gateway, DHCP or router advertisements, and "internet" hosts
// on documentation addresses), a client on every other link, a namespace per port-forward target
// and a VM per address routed onto a bridge (seed 003).
import type { Site } from '../config/schema.js';
import type { NodeModel, IfaceModel } from '../model/types.js';
import type { Artifact } from '../render/artifact.js';
import { compareAddr, contains, nthAddress, overlaps, parseAddress, parseCidr, prefixSize, type Addr, type Cidr, type Family } from '../lib/ip.js';
import { FEATURES } from '../features/index.js';
import type { AnyFeature, LabHostContribution, LabRouterContribution } from '../features/feature.js';
import { featureModel } from '../model/build.js';
import { firewall } from '../features/firewall/index.js';
import { nat } from '../features/nat/index.js';
import { ra } from '../features/ra/index.js';
import { networkdToIp } from '../targets/networkd-interpreter.js';
import { nodeServices } from '../render/index.js';
import { dhcp } from '../features/dhcp/index.js';
import { fromBig, toBig, type Range } from '../features/dhcp/pools.js';
import { dns } from '../features/dns/index.js';
import type { LabDns } from './dns.js';

/** What the node's features ask the lab to emulate on the router, merged in registry order. */
function routerContribution(m: NodeModel): LabRouterContribution {
  const out: LabRouterContribution = { preLinks: [], emulate: [], notes: [] };
  for (const f of FEATURES as readonly AnyFeature[]) {
    if (!m.features.has(f.id) || !f.lab?.router) continue;
    const c = f.lab.router(m.features.get(f.id), m);
    out.preLinks!.push(...(c.preLinks ?? []));
    out.emulate!.push(...(c.emulate ?? []));
    out.notes!.push(...(c.notes ?? []));
    out.uplink4 ??= c.uplink4;
    out.dhcp6 ??= c.dhcp6;
  }
  return out;
}

/** Hosts the node's features ask the lab to start (containers, VMs), configured from their rendered files. */
function hostContributions(m: NodeModel): LabHostContribution[] {
  return (FEATURES as readonly AnyFeature[]).flatMap((f) => (m.features.has(f.id) && f.lab?.hosts ? f.lab.hosts(m.features.get(f.id), m) : []));
}

/**
 * The ip arguments (without `addr add`/`route add` and `dev`) of a rendered networkd file, for a
 * stand-in guest (container, VM). Routers run real networkd; a guest's file is read instead of
 * booting a networkd per guest (a VM host has one per public address): what is proven there is
 * that the addresses and routes kairo tells the user to give the guest work against the router.
 */
function fromNetworkFile(artifacts: Artifact[] | undefined, path: string, onlink = false): { addrs: string[][]; routes: string[][] } {
  const file = artifacts?.find((x) => x.path === path);
  const nd = file ? networkdToIp([{ ...file, reload: 'networkd' }]) : undefined;
  return {
    addrs: nd?.commands.filter((c) => c[0] === 'addr').map((c) => c.slice(2, c.indexOf('dev'))) ?? [],
    routes: nd?.commands.filter((c) => c[0] === 'route').map((c) => c.slice(2, c.indexOf('dev')).concat(onlink && c.includes('onlink') ? ['onlink'] : [])) ?? [],
  };
}

export const LAB_PREFIX = 'kl-';

export interface Attachment {
  /** Segment = interface key. */
  segment: string;
  /** Device name inside the namespace. */
  dev: string;
  /** Router bridge this host plugs into directly (a bridge with no declared ports). */
  routerBridge?: { ns: string; bridge: string; port: string };
}

export interface LabHost {
  ns: string;
  role: 'isp' | 'client' | 'target' | 'vm';
  label: string;
  link: Attachment;
  /** `ip addr add` argument lists (without `addr add` and `dev`). */
  addrs: string[][];
  /** `ip route add` argument lists. */
  routes: string[][];
  /** agent specs: tcp:80, udp:53. */
  serve: string[];
  /** Addresses this host answers on, for checks ("reaches", "from"). */
  owns: string[];
  /** On a link numbered from a delegated prefix: the IPv6 address is given once the prefix is known. */
  pdLink?: string;
  /** The router announces a prefix for SLAAC on this link: the client takes it (accept_ra, autoconf) besides its lab address. */
  slaac?: boolean;
}

export interface LabRouter {
  ns: string;
  node: string;
  /** ip commands before the networkd files (devices the lab must stand in for). */
  preLinks: string[][];
  /** ip commands after them: what a daemon would configure that a namespace cannot run (PPP). */
  emulate: string[][];
  notes: string[];
  /** DHCPv6 with prefix delegation on `uplink` (the router's networkd asks; the lab's ISP runs Kea): the LANs numbered from it. */
  dhcp6?: { uplink: string; length: number; lans: { dev: string; subnet: number }[] };
  artifacts: Artifact[];
  /** Daemons the lab runs in the namespace as their units would (Kea, unbound): unit, and what it listens on when ready. */
  daemons: { unit: string; listens: string[] }[];
  /** Device → segment, for every interface the node has (bridges: their declared ports). */
  links: { dev: string; segment: string }[];
  serve: string[];
}

export interface IspPlan {
  ns: string;
  segment: string;
  dev: string;
  internet4: string;
  internet6: string;
  dhcp4?: { subnet: Cidr; router: string; from: string; to: string };
  /** Router advertisements: a prefix for SLAAC, or none (default route only); managed = use DHCPv6. */
  ra?: { prefix?: string; managed?: boolean };
  /** DHCPv6 (Kea) on the uplink: addresses from the link prefix, and prefixes to delegate. */
  dhcp6?: { link: string; pdPools: string[]; delegatedLength: number };
  /** The Internet's DNS as the router's resolver needs it: a root server, the site's forwarders (./dns.ts). */
  dns?: LabDns;
}

export interface LabPlan {
  site: string;
  prefix: string;
  fabric: string;
  segments: string[];
  routers: LabRouter[];
  hosts: LabHost[];
  isp?: IspPlan;
  uplink?: string;
  /** Inside IPv4 prefixes the ISP routes to the router once a dynamic uplink has its address. */
  insideRoutes4: string[];
  /** What a DHCPv4 lease on a served link must carry, per node that serves it (a pair splits the pool). */
  dhcp4: Record<string, { node: string; router: string; dns: string[]; domain?: string; pools: [string, string][]; hosts: { mac: string; ipv4?: string }[] }[]>;
  /** What a DHCPv6 lease on a served link must carry, per node: an address from a pool, a prefix from the delegation pool. */
  dhcp6: Record<string, { node: string; ns: string; dns: string[]; pools: [string, string][]; delegate?: { prefix: string; length: number } }[]>;
}

/** Namespace names: `kl-<site>-<role>`; the site part is kept short so names stay readable. */
export function labPrefix(site: string): string {
  return `${LAB_PREFIX}${site.replace(/[^a-z0-9]/gi, '').slice(0, 12).toLowerCase() || 'site'}`;
}

function isUplink(m: NodeModel, i: IfaceModel): boolean {
  return Boolean(i.gateway4 || i.peer4 || i.gateway6 || i.ipv4Dhcp || i.ipv6Mode === 'slaac' || i.ipv6Mode === 'dhcp' || m.contributions.devices.some((d) => d.device === i.device && d.uplink));
}

export { PPP_EMULATION } from '../features/pppoe/index.js';

/**
 * Every prefix and range the site uses (interfaces, routes, every element of every set, ranges
 * too), so lab-chosen addresses never collide with the user's: an "Internet" host inside the
 * site's own blocklist would make the lab test the blocklist instead of what the check says.
 */
function usedPrefixes(models: NodeModel[]): Used {
  const prefixes: Cidr[] = [];
  const ranges: [Addr, Addr][] = [];
  for (const m of models) {
    for (const i of m.interfaces) {
      prefixes.push(...i.ipv4, ...i.ipv6);
      for (const r of i.routes) {
        const c = parseCidr(r.to, true);
        if (c) prefixes.push(c);
      }
    }
    for (const s of featureModel(m, firewall)?.sets ?? []) {
      for (const e of s.elements) {
        const dash = e.indexOf('-');
        if (dash > 0) {
          const lo = parseAddress(e.slice(0, dash));
          const hi = parseAddress(e.slice(dash + 1));
          if (lo && hi) ranges.push([lo.addr, hi.addr]);
          continue;
        }
        const c = parseCidr(e, true);
        if (c) prefixes.push(c);
      }
    }
  }
  return { prefixes, ranges };
}

interface Used {
  prefixes: Cidr[];
  ranges: [Addr, Addr][];
}

function isUsed(p: Cidr, used: Used): boolean {
  if (used.prefixes.some((u) => overlaps(u, p))) return true;
  const first = p.addr;
  const last = nthAddress(p, prefixSize(p) - 1);
  return used.ranges.some(([lo, hi]) => lo.kind() === first.kind() && compareAddr(lo, last) <= 0 && compareAddr(first, hi) <= 0);
}

/** A lab that cannot be built here: a missing tool, a kernel feature, a busy name, a site that
 * leaves the lab no addresses of its own. Not a bug in kairo. */
export class LabError extends Error {}

/** The first candidate the site does not use; a lab that can find none says so rather than overlap. */
function firstFree(candidates: string[], used: Used): string {
  for (const c of candidates) if (!isUsed(parseCidr(c, true)!, used)) return c;
  throw new LabError(`the site uses every address the lab would give its own hosts (${candidates.join(', ')}); the lab cannot stand in for the Internet without overlapping them`);
}

/**
 * A host address inside `net` that no router address, target or other lab host takes, from the
 * top, outside every DHCP pool (a lease there would collide with the lab's own host).
 */
function freeHost(net: Cidr, taken: Set<string>, pools: Range[] = []): string | undefined {
  const size = prefixSize(net);
  if (net.family === 4) {
    for (let k = size - 2; k >= 1; k--) {
      const addr = nthAddress(net, k);
      const a = addr.toString();
      const n = toBig(addr);
      if (!taken.has(a) && !pools.some((r) => r.family === 4 && r.lo <= n && n <= r.hi)) return a;
    }
    return undefined;
  }
  for (let k = 0x100; k < 0x10000; k++) {
    const addr = nthAddress(net, k);
    const n = toBig(addr);
    if (!taken.has(addr.toString()) && !pools.some((r) => r.family === 6 && r.lo <= n && n <= r.hi)) return addr.toString();
  }
  return undefined;
}

export function buildLabPlan(site: Site, models: NodeModel[], artifacts: Map<string, Artifact[]>): LabPlan {
  const prefix = labPrefix(site.name ?? 'site');
  const first = models[0];
  const used = usedPrefixes(models);
  const taken = new Set<string>();
  for (const m of models) for (const i of m.interfaces) for (const a of [...i.ipv4, ...i.ipv6]) taken.add(a.addr.toString());
  for (const m of models) for (const f of featureModel(m, nat)?.forwards ?? []) taken.add(f.target.addr.toString());
  const dhcp4: LabPlan['dhcp4'] = {};
  for (const m of models) {
    for (const l of featureModel(m, dhcp)?.links ?? []) {
      if (!l.v4) continue;
      (dhcp4[l.key] ??= []).push({
        node: m.node, router: l.v4.router, dns: l.v4.dns, domain: l.v4.domain,
        pools: l.v4.pools.map((r) => [fromBig(r.lo, 4), fromBig(r.hi, 4)]), hosts: l.v4.hosts.map((h) => ({ mac: h.mac!, ipv4: h.ipv4 })),
      });
      for (const h of l.v4.hosts) if (h.ipv4) taken.add(h.ipv4);
    }
  }
  const dhcp6: LabPlan['dhcp6'] = {};
  for (const m of models) {
    for (const l of featureModel(m, dhcp)?.links ?? []) {
      if (!l.v6) continue;
      (dhcp6[l.key] ??= []).push({
        node: m.node, ns: `${prefix}-r-${m.node}`, dns: l.v6.dns, pools: l.v6.pools.map((r) => [fromBig(r.lo, 6), fromBig(r.hi, 6)]),
        delegate: l.v6.delegate ? { prefix: l.v6.delegate.prefix.network, length: l.v6.delegate.length } : undefined,
      });
    }
  }
  const poolsOn = (key: string): Range[] => [...(dhcp4[key] ?? []), ...(dhcp6[key] ?? [])].flatMap((d) => d.pools.map(([lo, hi]) => ({ family: parseAddress(lo)!.family, lo: toBig(parseAddress(lo)!.addr), hi: toBig(parseAddress(hi)!.addr) })));

  const resolver = models.map((m) => featureModel(m, dns)).find(Boolean);
  const routers: LabRouter[] = models.map((m) => {
    const rc = routerContribution(m);
    const daemons = nodeServices(m).filter((x) => x.lab).map((x) => ({ unit: x.unit, listens: x.lab!.listens }));
    const daemonPorts = new Set(daemons.flatMap((d) => d.listens));
    const resolverNote = featureModel(m, dns) ? ['DNS: the lab\'s root server stands in for the Internet\'s (unsigned: its trust anchor and root hints, and the lab CA for DNS-over-TLS, are laid over the system\'s files for the resolver only; unbound.conf is the host\'s)'] : [];
    return {
      ns: `${prefix}-r-${m.node}`,
      node: m.node,
      artifacts: artifacts.get(m.node) ?? [],
      links: m.interfaces.flatMap((i) => (i.bridge ? i.bridge.map((dev) => ({ dev, segment: i.key })) : [{ dev: i.device, segment: i.key }])),
      preLinks: rc.preLinks ?? [],
      emulate: rc.emulate ?? [],
      dhcp6: rc.dhcp6,
      notes: [...(rc.notes ?? []), ...resolverNote],
      daemons,
      // The router answers on the ports its input rules open, so "allow" checks get a real answer;
      // where a daemon of its own listens (unbound on 53), the daemon answers.
      serve: routerServices(m).filter((x) => !daemonPorts.has(x)),
    };
  });
  const firstLab = routerContribution(first);

  const hosts: LabHost[] = [];
  const byKey = new Map(first.interfaces.map((i) => [i.key, i]));
  /** How a host plugs into a link: into the router's bridge when the bridge has no declared ports. */
  const attach = (segment: string, hostIndex: number): Attachment => {
    const i = byKey.get(segment);
    if (i?.bridge && i.bridge.length === 0) {
      return { segment, dev: 'eth0', routerBridge: { ns: routers[0].ns, bridge: i.device, port: `lab${hostIndex}` } };
    }
    return { segment, dev: 'eth0' };
  };
  const gatewayOn = (i: IfaceModel, family: Family) => (family === 4 ? i.ipv4[0] : i.ipv6.find((a) => a.addr.range() !== 'linkLocal'))?.addr.toString();

  // ISP on the first uplink.
  const up = first.interfaces.find((i) => isUplink(first, i));
  let isp: IspPlan | undefined;
  if (up) {
    const ispNs = `${prefix}-isp`;
    const internet4 = firstFree(['203.0.113.200', '198.51.100.200', '192.0.2.200', '198.18.200.200', '198.19.200.200', '100.127.200.200'], used);
    const internet6 = firstFree(['2001:db8:ffff::200', '2001:db8:fffe::200', '2001:db8:fff0::200', '3fff:ffff::200'], used);
    const addrs: string[][] = [];
    const routes: string[][] = [];
    let dhcp4: IspPlan['dhcp4'];
    let ra: IspPlan['ra'];
    let dhcp6: IspPlan['dhcp6'];
    const emulated = firstLab.uplink4;
    const routerUp4 = emulated ? parseCidr(emulated.router)! : up.ipv4[0];
    if (emulated) {
      addrs.push(emulated.isp);
    } else if (up.gateway4 || up.peer4) {
      const gw = (up.peer4 ?? up.gateway4)!;
      if (routerUp4 && routerUp4.prefix < 31 && contains(routerUp4, parseAddress(gw)!.addr)) addrs.push([`${gw}/${routerUp4.prefix}`]);
      else {
        addrs.push([`${gw}/32`]);
        if (routerUp4) routes.push([routerUp4.addr.toString(), 'dev', 'eth0']);
      }
    } else if (up.ipv4Dhcp) {
      const subnet = parseCidr(firstFree(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '100.64.0.0/24'], used))!;
      const router = nthAddress(subnet, 1).toString();
      addrs.push([`${router}/${subnet.prefix}`]);
      dhcp4 = { subnet, router, from: nthAddress(subnet, 100).toString(), to: nthAddress(subnet, 199).toString() };
    }
    const routerUp6 = up.ipv6.find((a) => a.addr.range() !== 'linkLocal');
    if (up.gateway6) {
      const g = parseAddress(up.gateway6)!;
      addrs.push(g.addr.range() === 'linkLocal' ? [`${up.gateway6}/64`, 'nodad'] : [`${up.gateway6}/${routerUp6?.prefix ?? 64}`, 'nodad']);
      if (routerUp6 && g.addr.range() === 'linkLocal') {
        const own = freeHost(parseCidr(routerUp6.network)!, taken)!;
        taken.add(own);
        addrs.push([`${own}/${routerUp6.prefix}`, 'nodad']);
      }
    } else if (up.ipv6Mode === 'dhcp') {
      // An ISP that numbers its link by DHCPv6 and delegates prefixes (Kea): the RA only says
      // "managed" and brings the default route. Two pools, so the lab can renumber the customer.
      const link = parseCidr(firstFree(['2001:db8:100::/64', '2001:db8:101::/64'], used))!;
      addrs.push([`${nthAddress(link, 1)}/64`, 'nodad'], ['fe80::1/64', 'nodad']);
      ra = { managed: true };
      dhcp6 = { link: link.network, pdPools: [firstFree(['2001:db8:200::/48', '2001:db8:210::/48'], used), firstFree(['2001:db8:300::/48', '2001:db8:310::/48'], used)], delegatedLength: firstLab.dhcp6?.length ?? 64 };
    } else if (up.ipv6Mode === 'slaac' || (up.acceptRa && !routerUp6)) {
      const p = parseCidr(firstFree(['2001:db8:1000::/64', '2001:db8:1001::/64'], used))!;
      addrs.push([`${nthAddress(p, 1)}/64`, 'nodad']);
      addrs.push(['fe80::1/64', 'nodad']);
      ra = { prefix: p.network };
    } else if (up.acceptRa && routerUp6) {
      // accept_ra=2 with a static address: RAs bring the default route only.
      const own = up.gateway6 ?? freeHost(parseCidr(routerUp6.network)!, taken)!;
      taken.add(own);
      addrs.push([`${own}/${routerUp6.prefix}`, 'nodad'], ['fe80::1/64', 'nodad']);
      ra = {};
    }
    // Addresses the router routes (not NATs) must be reachable from the ISP: route the router's
    // inside prefixes and host routes back via its static uplink address (a home gateway's static
    // route to the pair, a provider routing public addresses to a host).
    const via4 = routerUp4?.addr.toString();
    const via6 = routerUp6?.addr.toString();
    const seen = new Set<string>();
    for (const i of first.interfaces.filter((x) => x !== up)) {
      for (const a of [...i.ipv4, ...i.ipv6]) {
        const via = a.family === 4 ? via4 : via6;
        if (via && a.addr.range() !== 'linkLocal' && !seen.has(a.network)) routes.push([a.network, 'via', via]), seen.add(a.network);
      }
      for (const r of i.routes.filter((x) => !x.via)) {
        const c = parseCidr(r.to, true)!;
        const via = c.family === 4 ? via4 : via6;
        if (via && !seen.has(c.network)) routes.push([c.network, 'via', via]), seen.add(c.network);
      }
    }
    let labDns: LabDns | undefined;
    if (resolver) {
      const forwarders = resolver.forwarders.map((f) => ({ address: f.address, port: f.port, ...(f.tlsName ? { tlsName: f.tlsName } : {}) }));
      for (const f of forwarders) {
        if (isUsed(parseCidr(f.address, true)!, used)) throw new LabError(`the forwarder ${f.address} lies inside the site's own addresses: the lab cannot stand in for it on the Internet side`);
      }
      const candidates = ['203.0.113.253', '198.51.100.253', '192.0.2.253', '198.18.200.253'].filter((a) => a !== internet4 && !forwarders.some((f) => f.address === a));
      labDns = { root4: firstFree(candidates, used), forwarders, certNames: [...new Set(forwarders.flatMap((f) => (f.tlsName ? [f.tlsName] : [])))], internet4, internet6 };
    }
    isp = { ns: ispNs, segment: up.key, dev: 'eth0', internet4, internet6, dhcp4, ra, dhcp6, ...(labDns ? { dns: labDns } : {}) };
    hosts.push({
      ns: ispNs, role: 'isp', label: `ISP on ${up.path}`, link: attach(up.key, hosts.length), addrs, routes,
      serve: ['tcp:80', 'tcp:443', 'udp:123', 'echo:7'], owns: [internet4, internet6, ...addrs.map((a) => a[0].split('/')[0])],
    });
  }

  // A client on every other link: the highest free address of each static prefix, default route
  // via the first node's address there.
  for (const i of first.interfaces.filter((x) => x !== up)) {
    const addrs: string[][] = [];
    const routes: string[][] = [];
    const owns: string[] = [];
    for (const fam of [4, 6] as const) {
      const net = (fam === 4 ? i.ipv4 : i.ipv6).find((a) => a.addr.range() !== 'linkLocal');
      if (!net) continue;
      const a = freeHost(parseCidr(net.network)!, taken, poolsOn(i.key));
      if (!a) continue;
      taken.add(a);
      owns.push(a);
      addrs.push([`${a}/${net.prefix}`, ...(fam === 6 ? ['nodad'] : [])]);
      routes.push(['default', 'via', gatewayOn(i, fam)!]);
    }
    const pdLink = firstLab.dhcp6?.lans.some((l) => l.dev === i.device);
    if (addrs.length === 0 && !pdLink) continue;
    // Where the router announces a prefix for SLAAC the client forms an address from it too, as a
    // host there would: the lab's own address keeps checks deterministic, the SLAAC one proves the RA.
    const announced = featureModel(first, ra)?.links.find((l) => l.key === i.key);
    const slaac = Boolean(announced && (announced.delegated || announced.prefixes.some((p) => p.autonomous)));
    hosts.push({
      ns: `${prefix}-c-${i.key}`.slice(0, 40), role: 'client', label: `client on ${i.path}`, link: attach(i.key, hosts.length), addrs, routes, serve: ['tcp:80'], owns,
      ...(pdLink ? { pdLink: i.device } : {}), ...(slaac ? { slaac } : {}),
    });
  }

  // Port-forward targets: one namespace per host a feature declares (a container, configured from
  // the network file kairo renders for it, both families), else one per target address on the
  // link holding it.
  const contributed = hostContributions(first);
  const byOwned = new Map<string, LabHostContribution>();
  for (const h of contributed.filter((x) => x.role === 'target')) for (const a of h.owns) byOwned.set(a, h);
  const targets = new Map<string, { addr: string; fam: Family; serve: Set<string> }>();
  for (const f of featureModel(first, nat)?.forwards ?? []) {
    const a = f.target.addr.toString();
    const key = byOwned.get(a)?.name ?? a;
    const t = targets.get(key) ?? { addr: a, fam: f.family, serve: new Set<string>() };
    for (const proto of f.protos) {
      if (f.portEnd === undefined) t.serve.add(`${proto}:${f.target.port ?? f.port}`);
      else for (let p = f.port; p <= f.portEnd && p < f.port + 4; p++) t.serve.add(`${proto}:${p}`);
    }
    targets.set(key, t);
  }
  let n = 0;
  for (const [key, t] of targets) {
    const c = byOwned.get(t.addr);
    if (c) {
      hosts.push({
        ns: `${prefix}-t${++n}`, role: 'target', label: `container ${key}`, link: attach(c.segment, hosts.length),
        ...fromNetworkFile(artifacts.get(first.node), c.configFile), serve: [...c.serve, ...t.serve], owns: c.owns,
      });
      continue;
    }
    const addr = parseAddress(t.addr)!;
    const i = first.interfaces.find((x) => (t.fam === 4 ? x.ipv4 : x.ipv6).some((cidr) => contains(cidr, addr.addr)));
    if (!i) continue; // the lab cannot place it
    const net = (t.fam === 4 ? i.ipv4 : i.ipv6).find((cidr) => contains(cidr, addr.addr))!;
    hosts.push({
      ns: `${prefix}-t${++n}`, role: 'target', label: `forward target ${t.addr}`, link: attach(i.key, hosts.length),
      addrs: [[`${t.addr}/${net.prefix}`, ...(t.fam === 6 ? ['nodad'] : [])]], routes: [['default', 'via', gatewayOn(i, t.fam)!]],
      serve: [...t.serve], owns: [t.addr],
    });
  }

  // VMs: every public address routed onto a bridge, configured from the guest file kairo renders
  // for it, as the user would paste it into the guest.
  const vmPorts = site.lab?.['vm-ports'] ?? [80];
  let v = 0;
  for (const h of contributed.filter((x) => x.role === 'vm')) {
    hosts.push({
      ns: `${prefix}-vm${++v}`, role: 'vm', label: h.label, link: attach(h.segment, hosts.length),
      ...fromNetworkFile(artifacts.get(first.node), h.configFile, true), serve: [...h.serve, ...vmPorts.map((p) => `tcp:${p}`)], owns: h.owns,
    });
  }

  const segments = [...new Set(models.flatMap((m) => m.interfaces.map((i) => i.key)))];
  const insideRoutes4 = up?.ipv4Dhcp ? first.interfaces.filter((i) => i !== up).flatMap((i) => i.ipv4.map((a) => a.network)) : [];
  return { site: site.name ?? 'site', prefix, fabric: `${prefix}-fabric`, segments, routers, hosts, isp, uplink: up?.key, insideRoutes4, dhcp4, dhcp6 };
}

function routerServices(m: NodeModel): string[] {
  const out = new Set<string>();
  for (const p of featureModel(m, firewall)?.pairs.filter((x) => x.to === 'router') ?? []) {
    for (const r of p.rules.filter((x) => x.action === 'accept')) {
      for (const proto of r.protos.filter((x) => x === 'tcp' || x === 'udp')) {
        for (const port of r.ports.filter((x) => !x.includes('-'))) out.add(`${proto}:${port}`);
      }
    }
  }
  return [...out];
}
