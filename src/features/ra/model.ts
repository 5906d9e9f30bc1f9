// What the router announces on each link, per node: parsed once, no networkd syntax here.
// When RA is on:
//   - explicitly: `ra: true` or `ra: { ... }`;
//   - by default: on every link that is not an uplink and has a static global or ULA /64, or is
//     numbered from a delegated prefix (`ipv6-from`). An uplink (gateway, DHCP/SLAAC, accept-ra,
//     prefix delegation, PPP) is off: announcing a default route towards the ISP is never wanted.
// Links whose hosts kairo numbers itself (`hosts:` containers, bridges with routed public
// addresses) are announced without the autonomous flag: hosts there learn the router, the on-link
// prefix and the DNS servers, but do not form a second, self-chosen address next to the one kairo
// gave them (firewall rules and forwards name that one; kairo's container files also say
// IPv6AcceptRA=no). `ra.slaac: true` turns SLAAC back on there.
// A prefix other than a /64 cannot be used for SLAAC (RFC 4862 with 64-bit interface ids): it is
// announced on-link only (verify warns).
import { formatPath } from '../../config/diagnostics.js';
import { isLinkLocal, parseCidr } from '../../lib/ip.js';
import type { IfaceModel } from '../../model/types.js';
import type { ModelContext } from '../feature.js';
import { RA_DEFAULTS, type RaObject } from './schema.js';
import { dhcp } from '../dhcp/index.js';
import { resolverAddressesOn, resolverDomainsOn } from './resolver.js';

export interface RaPrefix {
  /** The network, `fd00:1::/64`. */
  network: string;
  length: number;
  /** A flag: hosts form addresses in it (SLAAC). */
  autonomous: boolean;
  preferred: number;
  valid: number;
}

export interface RaLink {
  key: string;
  device: string;
  path: string;
  /** Numbered from a delegated prefix: networkd announces that /64 itself ([DHCPPrefixDelegation] Announce=yes). */
  delegated: boolean;
  /** Static prefixes announced in [IPv6Prefix] sections. */
  prefixes: RaPrefix[];
  dns: string[];
  domains: string[];
  managed: boolean;
  other: boolean;
  routerLifetime: number;
}

export interface RaModel {
  links: RaLink[];
}

/** Facts the site file says make a link an uplink (verify sees these too; the model adds PPP). */
export function uplinkReason(i: { gateway4?: string; gateway6?: string; peer4?: string; ipv4?: unknown; ipv6?: unknown; 'accept-ra'?: boolean; 'prefix-delegation'?: unknown }): string | undefined {
  if (i['prefix-delegation']) return 'it asks for a delegated prefix';
  if (i.gateway6) return 'it has gateway6';
  if (i.gateway4) return 'it has gateway4';
  if (i.peer4) return 'it has a point-to-point peer';
  if (i.ipv4 === 'dhcp') return 'it takes IPv4 by DHCP';
  if (i.ipv6 === 'slaac' || i.ipv6 === 'dhcp') return `it takes IPv6 by ${i.ipv6 === 'slaac' ? 'SLAAC' : 'DHCPv6'}`;
  if (i['accept-ra']) return 'it takes router advertisements (accept-ra)';
  return undefined;
}

function isUplink(ctx: ModelContext, i: IfaceModel, cfg: Record<string, unknown>): boolean {
  return Boolean(i.gateway4 || i.gateway6 || i.peer4 || i.ipv4Dhcp || i.ipv6Mode === 'slaac' || i.ipv6Mode === 'dhcp' || i.acceptRa || cfg['prefix-delegation'] || ctx.device(i.device).uplink);
}

/** Links whose hosts kairo numbers: containers with an IPv6 address, bridges with public addresses routed onto them. */
function numberedByKairo(i: IfaceModel, cfg: Record<string, unknown>): boolean {
  const hosts = (cfg.hosts as { ipv6?: string }[] | undefined) ?? [];
  return hosts.some((h) => h.ipv6) || Boolean(i.bridge && i.routes.some((r) => !r.via));
}

export function buildRaModel(ctx: ModelContext): RaModel | undefined {
  const links: RaLink[] = [];
  // The links where this node serves DHCPv6 (the dhcp feature is earlier in the registry).
  const dhcpV6ByLink = new Map((ctx.modelOf(dhcp)?.links ?? []).filter((l) => l.v6).map((l) => [l.key, l.v6!]));
  for (const i of ctx.interfaces) {
    const cfg = ctx.site.interfaces[i.key] as Record<string, unknown>;
    const ra = cfg.ra as false | true | RaObject | undefined;
    if (ra === false) continue;
    const delegated = Boolean(cfg['ipv6-from']);
    const own = i.ipv6.filter((a) => !isLinkLocal(a.addr));
    if (ra === undefined && (isUplink(ctx, i, cfg) || !(delegated || own.some((a) => a.prefix === 64)))) continue;
    const o = ra === true || ra === undefined ? RA_DEFAULTS : ra;
    const slaac = o.slaac ?? !numberedByKairo(i, cfg);
    const prefixes: RaPrefix[] = [];
    const seen = new Set<string>();
    for (const c of [...own, ...(o.prefixes ?? []).map((p) => parseCidr(p, true)!)]) {
      if (seen.has(c.network)) continue;
      seen.add(c.network);
      prefixes.push({ network: c.network, length: c.prefix, autonomous: slaac && c.prefix === 64, preferred: o['preferred-lifetime'], valid: o['valid-lifetime'] });
    }
    links.push({
      key: i.key, device: i.device, path: formatPath(['interfaces', i.key, 'ra']), delegated, prefixes,
      dns: o.dns ?? resolverAddressesOn(ctx, i.key), domains: o.domains ?? resolverDomainsOn(ctx, i.key),
      // What the link's DHCPv6 server does decides the flags unless the site says: addresses (M),
      // other configuration only (O).
      managed: o.managed ?? Boolean(dhcpV6ByLink.get(i.key)?.pools.length), other: o.other ?? dhcpV6ByLink.has(i.key), routerLifetime: o['router-lifetime'],
    });
  }
  return links.length ? { links } : undefined;
}
