// Checks of `ra:`: announcing needs an IPv6 prefix on the link; DNS servers are IPv6 addresses;
// extra prefixes are on the link (the router must reach what hosts number themselves in);
// lifetimes are ones hosts accept; an MTU networkd cannot send is said, not dropped.
import type { PathSegment } from '../../config/diagnostics.js';
import { contains, isLinkLocal, parseAddress, parseCidr, type Cidr } from '../../lib/ip.js';
import { parsedStatic, pick } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import type { RaObject } from './schema.js';
import { uplinkReason } from './model.js';

/** RFC 1035 names: labels of 1-63 letters, digits and hyphens, not at either end; 253 characters. */
const DOMAIN = /^(?=.{1,253}\.?$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function verifyRa(c: VerifyContext) {
  for (const [key, iface] of Object.entries(c.site.interfaces)) {
    const cfg = iface as typeof iface & { ra?: boolean | RaObject; 'ipv6-from'?: unknown; 'prefix-delegation'?: unknown; hosts?: unknown };
    const ra = cfg.ra;
    if (ra === undefined || ra === false) {
      // Default RA on a link with a non-/64 beside its /64: said where the prefix is written.
      if (ra === undefined) warnNot64Defaults(c, key, cfg);
      continue;
    }
    const base: PathSegment[] = ['interfaces', key, 'ra'];
    const o: Partial<RaObject> = ra === true ? {} : ra;
    // The link's own prefixes on every node (an HA pair's nodes may differ).
    const own = ownPrefixes(c, iface.ipv6);
    if (own.length === 0 && !cfg['ipv6-from']) {
      c.error('ra.no-ipv6', base, `interfaces.${key} has no IPv6 prefix to announce`,
        `give it one (ipv6: fd00:1::1/64, or ipv6-from: a delegated prefix), or remove ra`);
    }
    const uplink = uplinkReason(cfg);
    if (uplink) {
      c.warn('ra.on-uplink', base, `interfaces.${key} looks like an uplink (${uplink}); announcing on it makes the router a default router for the hosts of that link`,
        'remove ra here unless this link really serves hosts behind the router');
    }
    (o.dns ?? []).forEach((d, n) => {
      const a = parseAddress(d);
      if (!a || a.family !== 6) {
        c.error('ra.dns-not-ipv6', [...base, 'dns', n], `'${d}' is not an IPv6 address; router advertisements carry IPv6 DNS servers only (RDNSS)`,
          a ? 'IPv4 DNS servers reach hosts by DHCPv4; list the resolver\'s IPv6 address here' : 'write it like fd00:1::1');
      }
    });
    (o.domains ?? []).forEach((d, n) => {
      if (!DOMAIN.test(d)) c.error('ra.domain-invalid', [...base, 'domains', n], `'${d}' is not a domain name`, 'write it like home.arpa (letters, digits, hyphens, dots)');
    });
    // On the link: inside one of its own prefixes, or routed onto it (a route without via).
    const onLink: Cidr[] = [...own, ...(iface.routes ?? []).filter((r) => !r.via).map((r) => parseCidr(r.to, true)).filter((x): x is Cidr => x?.family === 6)];
    (o.prefixes ?? []).forEach((p, n) => {
      const at = [...base, 'prefixes', n];
      const cidr = parseCidr(p);
      if (!cidr) c.error('address.invalid', at, `'${p}' is not a prefix`, 'write it like 2001:db8:1:2::/64');
      else if (cidr.family !== 6) c.error('address.family-mismatch', at, `'${p}' is an IPv4 prefix; router advertisements announce IPv6 prefixes`);
      else if (!onLink.some((l) => cidr.prefix >= l.prefix && contains(l, cidr.addr))) {
        c.error('ra.prefix-off-link', at, `${cidr.network} is not on interfaces.${key}${onLink.length ? ` (it has ${onLink.map((l) => l.network).join(', ')})` : ''}; hosts would number themselves in a prefix the router does not route to this link`,
          `announce a prefix of this link, or route it here first (routes: [{ to: ${cidr.network} }])`);
      } else if (cidr.prefix !== 64) {
        c.warn('ra.prefix-not-64', at, `${cidr.network} is not a /64: it is announced on-link only, hosts cannot form addresses in it by SLAAC`, 'announce a /64 for SLAAC');
      }
    });
    for (const p of own) if (p.prefix !== 64) notSixtyFour(c, key, iface.ipv6, p);
    if (o['preferred-lifetime'] !== undefined && o['valid-lifetime'] !== undefined && o['preferred-lifetime'] > o['valid-lifetime']) {
      c.error('ra.lifetimes', [...base, 'preferred-lifetime'], `preferred lifetime ${o['preferred-lifetime']} s is longer than the valid lifetime ${o['valid-lifetime']} s; hosts ignore such a prefix`,
        'make preferred-lifetime at most valid-lifetime');
    }
    // Measured: systemd-networkd 252 has no setting for the RA's MTU option and sends none (only
    // an MTU change after it started its RA engine would reach it). Said here, not silently dropped.
    if (o.mtu !== undefined) {
      c.error('ra.mtu-unsupported', [...base, 'mtu'], `systemd-networkd 252 cannot announce an MTU in its router advertisements`,
        `remove ra.mtu; set interfaces.${key}.mtu for the router's side and give hosts on the link the same MTU yourself`);
    }
  }
}

/** A default-on link (not an uplink, with a /64) that also has a prefix of another length. */
function warnNot64Defaults(c: VerifyContext, key: string, cfg: VerifyContext['site']['interfaces'][string]) {
  if (uplinkReason(cfg)) return;
  const own = ownPrefixes(c, cfg.ipv6);
  if (!own.some((p) => p.prefix === 64)) return;
  for (const p of own) if (p.prefix !== 64) notSixtyFour(c, key, cfg.ipv6, p);
}

function notSixtyFour(c: VerifyContext, key: string, v6: unknown, p: Cidr) {
  const path: PathSegment[] = ['interfaces', key, 'ipv6'];
  if (Array.isArray(v6)) path.push(v6.findIndex((x) => parseCidr(String(x))?.network === p.network));
  c.warn('ra.prefix-not-64', path, `${p.network} is not a /64: it is announced on-link only, hosts cannot form addresses in it by SLAAC`,
    'use a /64 for a link with SLAAC hosts, or set ra: false');
}

/** The link's static global/ULA IPv6 prefixes on every node (an HA pair's nodes may differ), once each. */
function ownPrefixes(c: VerifyContext, v6: unknown): Cidr[] {
  const all = c.nodes.flatMap((n) => parsedStatic(pick(v6 as never, n))).filter((x) => x.family === 6 && !isLinkLocal(x.addr));
  return all.filter((x, n) => all.findIndex((y) => y.network === x.network) === n);
}
