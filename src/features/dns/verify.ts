// Checks of the `dns:` slice: which zones may ask (never an uplink: an open resolver), upstream
// addresses and TLS names, local names (also against the DHCP reservations' names), the domain and
// the block list's written entries (a list file's lines are checked where it is read: ./files.ts).
import type { PathSegment } from '../../config/diagnostics.js';
import { parseAddress } from '../../lib/ip.js';
import { parsedStatic, pick } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import { localNamesWithOrigin, servedZones, uplinkZones, type DnsSite } from './model.js';
import { canonical, isDomain, LABEL } from './names.js';
import { dnsOf, forwarderOf, type dnsSiteKeys } from './schema.js';

export function verifyDns(c: VerifyContext<typeof dnsSiteKeys>): void {
  const cfg = dnsOf(c.site.dns);
  if (!cfg) return;
  const site = c.site as unknown as DnsSite;
  const base: PathSegment[] = ['dns'];
  const up = uplinkZones(site);

  cfg.serve?.forEach((z, i) => {
    const p = [...base, 'serve', i];
    if (!c.zones.includes(z)) c.error('ref.unknown-zone', p, `unknown zone '${z}'`, c.suggest(z, c.zones));
    else if (up.has(z)) c.error('dns.serve-uplink', p, `zone ${z} holds the uplink: the resolver would answer anyone on the Internet (an open resolver, used for amplification attacks)`, 'serve the LAN zones only; remove this zone');
  });
  // A served zone without an address to listen on: the resolver cannot answer there.
  for (const z of servedZones(site, cfg)) {
    if (!c.zones.includes(z) || up.has(z)) continue;
    const ifaces = Object.entries(site.interfaces).filter(([, i]) => i.zone === z);
    const addressed = ifaces.some(([, i]) => c.nodes.some((n) => parsedStatic(pick(i.ipv4, n)).length > 0 || parsedStatic(pick(i.ipv6, n)).some((a) => a.addr.range() !== 'linkLocal')));
    if (ifaces.length > 0 && !addressed) {
      c.warn('dns.no-address', cfg.serve ? [...base, 'serve', cfg.serve.indexOf(z)] : base, `zone ${z} has no interface with a static address: the resolver does not answer there`, `give ${ifaces.map(([k]) => `interfaces.${k}`).join(', ')} an address such as 10.0.0.1/24`);
    }
  }
  if (!cfg.serve && servedZones(site, cfg).length === 0) c.warn('dns.no-address', base, 'every zone holds an uplink: the resolver serves no one', 'name the zones to serve: dns: { serve: [lan] }');

  // The router's own addresses: forwarding to itself would loop.
  const own = new Set<string>();
  for (const i of Object.values(site.interfaces)) for (const n of c.nodes) for (const a of [...parsedStatic(pick(i.ipv4, n)), ...parsedStatic(pick(i.ipv6, n))]) own.add(a.addr.toString());
  const forwarders = (cfg.forwarders ?? []).map(forwarderOf);
  forwarders.forEach((f, i) => {
    const p: PathSegment[] = [...base, 'forwarders', i, ...(typeof cfg.forwarders![i] === 'string' ? [] : ['address'])];
    const a = parseAddress(f.address);
    if (!a) c.error('address.invalid', p, `'${f.address}' is not an address`, 'a resolver\'s IP address, e.g. 9.9.9.9 (names cannot be resolved before the resolver runs)');
    else if (['unspecified', 'multicast', 'broadcast', 'linkLocal'].includes(a.addr.range())) c.error('dns.forwarder-invalid', p, `${f.address} is a ${a.addr.range() === 'linkLocal' ? 'link-local' : a.addr.range()} address: no resolver answers there`, 'the address of a resolver, e.g. 9.9.9.9 or 2620:fe::fe');
    else if (a.addr.range() === 'loopback' || own.has(a.addr.toString())) c.error('dns.forwarder-invalid', p, `${f.address} is the router itself: the resolver would forward to itself`, 'name the upstream resolvers (your ISP\'s, or a public one)');
    const name = f['tls-name'];
    if (name !== undefined && (!isDomain(name) || !name.includes('.') || parseAddress(name))) {
      c.error('dns.tls-name-invalid', [...base, 'forwarders', i, 'tls-name'], `'${name}' is not a host name: the resolver checks that the upstream's certificate carries this name`, 'the name in the provider\'s certificate, e.g. dns.quad9.net');
    }
  });
  const tls = forwarders.filter((f) => f['tls-name'] !== undefined);
  if (tls.length > 0 && tls.length < forwarders.length) {
    const i = forwarders.findIndex((f) => f['tls-name'] === undefined);
    c.error('dns.forwarder-mixed', [...base, 'forwarders', i], `${forwarders[i].address} has no tls-name while other forwarders use DNS-over-TLS: unbound sends all of them over TLS or none`, 'give every forwarder its tls-name, or none of them');
  }

  if (!isDomain(cfg.domain)) c.error('dns.domain-invalid', [...base, 'domain'], `'${cfg.domain}' is not a domain name`, 'e.g. home.arpa (RFC 8375), or a domain of your own');

  for (const [name, addrs] of Object.entries(cfg.hosts ?? {})) {
    const p = [...base, 'hosts', name];
    if (!isDomain(name) || parseAddress(name)) c.error('dns.host-name', p, `'${name}' is not a host name (labels of letters, digits and -, at most 63 each)`, 'e.g. nas, or nas.example.com for a name outside the local domain', true);
    const list = Array.isArray(addrs) ? addrs : [addrs];
    if (list.length === 0) c.error('address.invalid', p, `${name} has no address`, 'nas: [10.0.0.5]');
    list.forEach((a, i) => {
      if (!parseAddress(a)) c.error('address.invalid', Array.isArray(addrs) ? [...p, i] : p, `'${a}' is not an address`);
    });
  }
  // One name, one set of addresses: a declared host and a reservation (or two reservations on
  // different links) under the same name with other addresses would answer both at random.
  const seen = new Map<string, { path: PathSegment[]; addrs: string }>();
  for (const n of localNamesWithOrigin(site, cfg)) {
    if (n.path[0] === 'interfaces' && !LABEL.test(String(n.name.split('.')[0]))) continue; // DHCP's check reports it
    const addrs = [...n.v4, ...n.v6].map((a) => parseAddress(a)?.addr.toString() ?? a).sort().join(', ');
    const prior = seen.get(n.name);
    if (!prior) {
      seen.set(n.name, { path: n.path, addrs });
      continue;
    }
    if (n.path[0] === 'interfaces' && prior.path[0] === 'interfaces' && prior.path[1] === n.path[1]) continue; // DHCP's check: names are unique on a link
    if (n.path[0] === 'interfaces' ? prior.addrs.split(', ').some((a) => addrs.split(', ').includes(a)) : prior.addrs === addrs) continue;
    c.error('dns.host-duplicate', n.path[0] === 'interfaces' ? [...n.path, 'name'] : n.path, `${n.name} is also ${prior.path.join('.').replace(/\.(\d+)/g, '[$1]')} with ${prior.addrs}: one name would answer with addresses of two hosts`, 'give each host its own name', n.path[0] !== 'interfaces');
  }

  const written = cfg.blocklist?.domains ?? [];
  const fromFile = c.source?.origins.find((o) => o.path === 'dns.blocklist.domains')?.start;
  written.forEach((d, i) => {
    if (fromFile !== undefined && i >= fromFile) return; // a list file's entries are checked as it is read
    if (!isDomain(d, true)) c.error('dns.blocklist-invalid', [...base, 'blocklist', 'domains', i], `'${d}' is not a domain name`, 'e.g. ads.example.com (every name below it is blocked too)');
    else if (canonical(d) === cfg.domain.toLowerCase().replace(/\.$/, '')) c.error('dns.blocklist-invalid', [...base, 'blocklist', 'domains', i], `${d} is the local domain: every local name would be blocked`, 'block names below it instead');
  });
}
