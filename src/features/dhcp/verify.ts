// Checks of the DHCP slice, per link and across the site: what Kea would refuse, and what it would
// accept but hand out wrongly (a pool over the router's own address, the same address in two
// reservations, pools of a pair that overlap).
import type { PathSegment } from '../../config/diagnostics.js';
import { contains, parseAddress, parseCidr, type Cidr } from '../../lib/ip.js';
import { asList, isPerNodeMap, parsedStatic, pick } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import { addrBig, bounds, derivedSubnetId, fromBig, insideRange, overlapsRange, parsePool, rangeText, type Range } from './pools.js';
import { dhcpOf, nodesWith, poolsFor, routerAddresses, type DhcpSite } from './model.js';
import type { dhcpInterfaceKeys, dhcpSiteKeys } from './schema.js';

const MAC = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;
const DUID = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){1,129}$/;
// A host name is one DNS label (the resolver adds the domain).
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

export function verifyDhcp(c: VerifyContext<typeof dhcpSiteKeys, typeof dhcpInterfaceKeys>) {
  const site = c.site as unknown as DhcpSite;
  const subnetIds = new Map<string, string>();
  const ipSeen = new Map<string, string>();
  for (const [key, iface] of Object.entries(c.site.interfaces)) {
    const d = dhcpOf(iface.dhcp);
    if (!d) continue;
    const base: PathSegment[] = ['interfaces', key, 'dhcp'];
    const holders = nodesWith(site, key);
    const v4 = holders.map((n) => parsedStatic(pick(iface.ipv4, n))[0]).find(Boolean);
    const v6 = holders.map((n) => parsedStatic(pick(iface.ipv6, n)).find((x) => x.addr.range() !== 'linkLocal')).find(Boolean);
    const subnet4 = v4 && parseCidr(v4.network)!;
    const subnet6 = v6 && parseCidr(v6.network)!;
    if (!subnet4 && !subnet6) {
      c.error('dhcp.needs-address', base, `${key} has no static address: a DHCP server serves the subnet of its own address on the link`, `give interfaces.${key} an address such as 10.0.0.1/24`);
      continue;
    }
    if (!subnet4 && (d.pool !== undefined || d.router || d.routes || d.mtu !== undefined || d.hosts?.some((h) => h.ipv4))) {
      c.error('dhcp.needs-address', [...base, d.pool !== undefined ? 'pool' : 'router'], `${key} has no static IPv4 address, so it serves no DHCPv4`, `give interfaces.${key} an IPv4 address, or remove the IPv4 settings`);
    }
    if (!subnet6 && (d.pool6 !== undefined || d.delegate || d.hosts?.some((h) => h.ipv6 || h.prefix))) {
      c.error('dhcp.needs-address', [...base, d.pool6 !== undefined ? 'pool6' : 'delegate'], `${key} has no static IPv6 prefix, so it serves no DHCPv6`, `give interfaces.${key} an IPv6 address such as fd00:1::1/64 (links numbered from a delegated prefix use SLAAC)`);
    }
    const taken = routerAddresses(site, key);
    const router = d.router ? parseAddress(d.router) : undefined;
    if (d.router && (!router || router.family !== 4)) c.error('address.invalid', [...base, 'router'], `'${d.router}' is not an IPv4 address`);
    else if (router && subnet4 && !contains(subnet4, router.addr)) c.error('dhcp.router-outside', [...base, 'router'], `${d.router} is not in ${subnet4.network}: clients could not reach their router`, 'name an address on this link (a node\'s address, or the shared address of a pair)');
    if (router) taken.push(addrBig(d.router!)!.n);

    for (const [field, fam, subnet] of [['pool', 4, subnet4], ['pool6', 6, subnet6]] as const) {
      const written = d[field];
      if (written === undefined || !subnet) continue;
      const entries: [PathSegment[], string][] = isPerNodeMap(written)
        ? Object.entries(written).flatMap(([n, v]) => asList(v).map((t, i): [PathSegment[], string] => [[...base, field, n, ...(Array.isArray(v) ? [i] : [])], t]))
        : asList(written).map((t, i) => [[...base, field, ...(Array.isArray(written) ? [i] : [])], t]);
      if (isPerNodeMap(written)) {
        for (const n of Object.keys(written)) if (!holders.includes(n)) c.error('ref.unknown-node', [...base, field, n], `'${n}' is not a node that has interfaces.${key}`, c.suggest(n, holders), true);
      }
      const sub = bounds(subnet);
      const usable: Range = fam === 4 && subnet.prefix < 31 ? { ...sub, lo: sub.lo + 1n, hi: sub.hi - 1n } : sub;
      const seen: [PathSegment[], Range][] = [];
      for (const [p, text] of entries) {
        const r = parsePool(text);
        if (typeof r === 'string') {
          c.error('dhcp.pool-invalid', p, r, fam === 4 ? 'e.g. 10.0.0.100-10.0.0.199' : 'e.g. fd00:1::1000-fd00:1::1fff');
          continue;
        }
        if (r.family !== fam) {
          c.error('dhcp.pool-invalid', p, `'${text}' is IPv${r.family}; ${field} is for IPv${fam}`, fam === 4 ? 'IPv6 ranges go under pool6' : 'IPv4 ranges go under pool');
          continue;
        }
        if (!insideRange(usable, r)) {
          c.error('dhcp.pool-outside', p, `${rangeText(r)} is not inside ${subnet.network}${fam === 4 ? ' (without its network and broadcast addresses)' : ''}`, `pick addresses between ${fromBig(usable.lo, fam)} and ${fromBig(usable.hi, fam)}`);
          continue;
        }
        const hit = taken.find((t) => t >= r.lo && t <= r.hi);
        if (hit !== undefined) c.error('dhcp.pool-router', p, `${rangeText(r)} includes ${fromBig(hit, fam)}, the router's own address: a client would get it`, 'start the pool after the routers\' addresses');
        const clash = seen.find(([, o]) => overlapsRange(o, r));
        if (clash) c.error('dhcp.pool-overlap', p, `${rangeText(r)} overlaps ${rangeText(clash[1])}${isPerNodeMap(written) ? ' of another node: both would lease the same addresses' : ''}`, 'pools must be disjoint');
        seen.push([p, r]);
      }
    }
    if (subnet4 && d.pool === undefined && holders.length > 0 && poolsFor(site, key, holders[0], 4, subnet4).length === 0 && !(d.hosts?.length)) {
      c.error('dhcp.pool-invalid', base, `${subnet4.network} is too small for a default pool`, 'write pool: FIRST-LAST, or pool: [] with reservations only');
    }

    if (d.delegate) {
      const p = parseCidr(d.delegate.prefix);
      if (!p || p.family !== 6) c.error('address.invalid', [...base, 'delegate', 'prefix'], `'${d.delegate.prefix}' is not an IPv6 prefix`);
      else if (p.prefix >= d.delegate.length) c.error('dhcp.delegate-invalid', [...base, 'delegate', 'length'], `a /${d.delegate.length} cannot be carved from a /${p.prefix}`, `delegate a length longer than /${p.prefix}, or a shorter prefix`);
      else if (p.text !== p.network) c.error('dhcp.delegate-invalid', [...base, 'delegate', 'prefix'], `${p.text} has host bits set: the prefix is ${p.network}`, `write ${p.network}`);
    }

    for (const field of ['dns', 'ntp'] as const) {
      (d[field] ?? []).forEach((a, i) => {
        if (!parseAddress(a)) c.error('address.invalid', [...base, field, i], `'${a}' is not an address`);
      });
    }
    if (d.domain !== undefined && !DOMAIN.test(d.domain)) c.error('dhcp.domain-invalid', [...base, 'domain'], `'${d.domain}' is not a domain name`, 'e.g. home.arpa');
    (d.search ?? []).forEach((s, i) => {
      if (!DOMAIN.test(s)) c.error('dhcp.domain-invalid', [...base, 'search', i], `'${s}' is not a domain name`, 'e.g. home.arpa');
    });
    (d.routes ?? []).forEach((r, i) => {
      const to = parseCidr(r.to, true);
      if (!to || to.family !== 4) c.error('address.invalid', [...base, 'routes', i, 'to'], `'${r.to}' is not an IPv4 prefix`, 'option 121 carries IPv4 routes');
      const via = parseAddress(r.via);
      if (!via || via.family !== 4) c.error('address.invalid', [...base, 'routes', i, 'via'], `'${r.via}' is not an IPv4 address`);
      else if (subnet4 && !contains(subnet4, via.addr)) c.error('dhcp.router-outside', [...base, 'routes', i, 'via'], `${r.via} is not in ${subnet4.network}: clients could not reach it`);
    });

    // Kea keys leases by subnet id: two subnets of one server must never share one.
    for (const [fam, subnet, field] of [[4, subnet4, 'subnet-id'], [6, subnet6, 'subnet-id6']] as const) {
      if (!subnet) continue;
      const id = d[field] ?? derivedSubnetId(subnet);
      const other = subnetIds.get(`${fam}:${id}`);
      if (other) c.error('dhcp.subnet-id-clash', [...base, ...(d[field] !== undefined ? [field] : [])], `subnet id ${id}${d[field] === undefined ? ` (derived from ${subnet.network})` : ''} is also that of ${other}`, `each subnet needs its own id: write ${field}: N`);
      subnetIds.set(`${fam}:${id}`, `interfaces.${key}`);
    }

    verifyHosts(c, d.hosts ?? [], [...base, 'hosts'], subnet4, subnet6, taken, ipSeen, key);
  }
}

function verifyHosts(c: VerifyContext, hosts: NonNullable<ReturnType<typeof dhcpOf>>['hosts'] & object, base: PathSegment[], subnet4: Cidr | undefined, subnet6: Cidr | undefined, taken: bigint[], ipSeen: Map<string, string>, key: string) {
  const seen = new Map<string, string>();
  hosts.forEach((h, i) => {
    const p = [...base, i];
    if (!LABEL.test(h.name)) c.error('dhcp.host-name', [...p, 'name'], `'${h.name}' is not a host name (one DNS label: letters, digits and -, at most 63)`, 'e.g. nas or printer-1');
    if (!h.mac && !h.duid) c.error('dhcp.host-id', p, `${h.name} has neither mac nor duid: the server cannot tell it is this host`, "add 'mac: 52:54:00:12:34:56' (or a DHCPv6 'duid')");
    if (h.mac && !MAC.test(h.mac)) c.error('dhcp.host-id', [...p, 'mac'], `'${h.mac}' is not a hardware address`, 'six hex octets: 52:54:00:12:34:56');
    if (h.duid && !DUID.test(h.duid)) c.error('dhcp.host-id', [...p, 'duid'], `'${h.duid}' is not a DUID`, 'hex octets separated by colons: 00:03:00:01:52:54:00:12:34:56');
    for (const [field, fam, subnet] of [['ipv4', 4, subnet4], ['ipv6', 6, subnet6]] as const) {
      const v = h[field];
      if (v === undefined) continue;
      const a = parseAddress(v);
      if (!a || a.family !== fam) {
        c.error('address.invalid', [...p, field], `'${v}' is not an IPv${fam} address`);
        continue;
      }
      if (subnet && !contains(subnet, a.addr)) c.error('dhcp.host-outside', [...p, field], `${v} is not in ${subnet.network}, the subnet of interfaces.${key}`, 'a fixed address may lie outside the pool, but inside the link\'s subnet');
      else if (taken.includes(addrBig(v)!.n)) c.error('dhcp.host-router', [...p, field], `${v} is the router's own address`, 'pick another address');
      const canon = a.addr.toString();
      const other = ipSeen.get(canon);
      if (other) c.error('dhcp.host-duplicate', [...p, field], `${v} is also reserved for ${other}`, 'each reservation needs its own address');
      ipSeen.set(canon, `${h.name} (interfaces.${key})`);
    }
    if (h.prefix !== undefined) {
      const pr = parseCidr(h.prefix);
      if (!pr || pr.family !== 6) c.error('address.invalid', [...p, 'prefix'], `'${h.prefix}' is not an IPv6 prefix`);
    }
    for (const [field, v] of [['mac', h.mac?.toLowerCase().replaceAll('-', ':')], ['duid', h.duid?.toLowerCase()], ['name', h.name.toLowerCase()]] as const) {
      if (!v) continue;
      const other = seen.get(`${field}:${v}`);
      if (other) c.error('dhcp.host-duplicate', [...p, field], `${field} ${v} is also that of ${other}`, field === 'name' ? 'host names must be unique on a link' : 'one reservation per client');
      if (!other) seen.set(`${field}:${v}`, `${h.name} (hosts[${i}])`);
    }
  });
}
