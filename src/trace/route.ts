// The routing decision between prerouting and the filter hooks: delivered to the router (input)
// or forwarded out of one device (forward). Routes are what networkd installs from the model
// (src/features/interfaces/networkd.ts): connected prefixes, point-to-point peers, `routes`, and
// default routes from gateways, DHCP or router advertisements.
import ipaddr from 'ipaddr.js';
import type { IfaceModel, NodeModel } from '../model/types.js';
import { contains, parseAddress, parseCidr, type Addr, type Cidr, type Family } from '../lib/ip.js';
import { familyOf } from './match.js';
import { TraceInputError } from './types.js';

/** Why an address is the router's own (`fib daddr type local`), or undefined. */
export function localReason(m: NodeModel, dst: Addr, extra: readonly Addr[]): string | undefined {
  const fam = familyOf(dst);
  for (const i of m.interfaces) {
    for (const c of fam === 4 ? i.ipv4 : i.ipv6) {
      if (c.addr.kind() === dst.kind() && c.addr.toString() === dst.toString()) return `address of ${i.device} (${i.path})`;
    }
  }
  if (extra.some((a) => a.kind() === dst.kind() && a.toString() === dst.toString())) return 'given as a local address (--local)';
  const range = dst.range();
  if (range === 'loopback') return 'loopback';
  // The router's own link-local addresses are derived from MACs the site does not know; a
  // link-local destination is never forwarded, so it can only be meant for the router.
  if (fam === 6 && range === 'linkLocal') return 'link-local, taken as the router\'s own';
  return undefined;
}

/** Why a destination is delivered to the router without being its unicast address (broadcast, multicast). */
export function deliveryReason(m: NodeModel, dst: Addr): string | undefined {
  const range = dst.range();
  if (range === 'multicast') return 'multicast (no multicast routing: delivered to the router)';
  if (range === 'broadcast') return 'limited broadcast';
  if (familyOf(dst) === 4) {
    for (const i of m.interfaces) {
      for (const c of i.ipv4) {
        if (c.prefix >= 31) continue; // /31 and /32 have no broadcast address (RFC 3021)
        if (ipaddr.IPv4.broadcastAddressFromCIDR(c.text).toString() === dst.toString()) return `broadcast of ${c.network} on ${i.device}`;
      }
    }
  }
  return undefined;
}

export interface Route {
  device: string;
  prefix: number;
  text: string;
}

interface Candidate extends Route {
  net: Cidr;
}

function candidates(m: NodeModel, i: IfaceModel, family: Family): Candidate[] {
  const out: Candidate[] = [];
  const add = (net: Cidr | undefined, text: string) => {
    if (net && net.family === family) out.push({ device: i.device, prefix: net.prefix, net, text });
  };
  for (const c of family === 4 ? i.ipv4 : i.ipv6) add(c, `connected ${c.network} on ${i.device} (${i.path})`);
  if (i.peer4) add(parseCidr(i.peer4, true), `point-to-point peer ${i.peer4} on ${i.device} (${i.path}.peer4)`);
  i.routes.forEach((r, n) => add(parseCidr(r.to, true), `route ${r.to}${r.via ? ` via ${r.via}` : ''} on ${i.device} (${i.path}.routes[${n}])`));
  const any = parseCidr(family === 4 ? '0.0.0.0/0' : '::/0')!;
  // Routes features install (a softwire's or PPP's default), in the place of the interface's own default.
  const extra = m.contributions.routes.filter((r) => r.parent === i.device && r.family === family);
  for (const r of extra) out.push({ device: r.device, prefix: r.net.prefix, net: r.net, text: r.text });
  if (family === 4) {
    if (extra.some((r) => r.replacesDefault4)) return out;
    if (i.gateway4) add(any, `default via ${i.gateway4} on ${i.device} (${i.path}.gateway4)`);
    else if (i.ipv4Dhcp) add(any, `default from DHCP on ${i.device} (${i.path}.ipv4)`);
  } else if (i.gateway6) {
    add(any, `default via ${i.gateway6} on ${i.device} (${i.path}.gateway6)`);
  } else if (i.acceptRa || i.ipv6Mode === 'slaac' || i.ipv6Mode === 'dhcp') {
    add(any, `default from router advertisements on ${i.device} (${i.path}.ipv6)`);
  }
  return out;
}

/** Longest prefix wins; among equals the first in interface order (route metrics are not modelled). */
export function lookupRoute(m: NodeModel, dst: Addr): Route | undefined {
  const family = familyOf(dst);
  let best: Candidate | undefined;
  let defaults = 0;
  for (const i of m.interfaces) {
    for (const c of candidates(m, i, family)) {
      if (c.prefix === 0) defaults++;
      if (contains(c.net, dst) && (!best || c.prefix > best.prefix)) best = c;
    }
  }
  if (!best) return undefined;
  const note = best.prefix === 0 && defaults > 1 ? `; ${defaults} default routes, the first interface's is taken` : '';
  return { device: best.device, prefix: best.prefix, text: best.text + note };
}

/**
 * Reverse-path filtering (rp_filter, IPv4 only), where the site sets it on the arrival interface:
 * strict drops a packet whose source would not be routed back out of that interface, loose one
 * whose source has no route at all. The kernel checks it at the routing decision, on the source
 * as it arrived. Returns why the kernel drops the packet, or undefined.
 */
export function reversePathDrop(m: NodeModel, src: Addr, iif: string): { text: string; path: string } | undefined {
  if (familyOf(src) !== 4) return undefined;
  const i = m.interfaces.find((x) => x.device === iif);
  if (!i?.rpFilter || i.rpFilter === 'off') return undefined;
  const path = `${i.path}.rp-filter`;
  const back = lookupRoute(m, src);
  if (!back) return { text: `rp_filter ${i.rpFilter} on ${iif}: no route back to ${src}; the kernel drops it (martian source)`, path };
  if (i.rpFilter === 'strict' && back.device !== iif) {
    return { text: `rp_filter strict on ${iif}: the route back to ${src} leaves by ${back.device}, not ${iif}; the kernel drops it (spoofed source)`, path };
  }
  return undefined;
}

export function parseLocal(list: readonly string[] | undefined): Addr[] {
  return (list ?? []).map((s) => {
    const a = parseAddress(s);
    if (!a) throw new TraceInputError(`local address '${s}' is not an IPv4 or IPv6 address`);
    return a.addr;
  });
}
