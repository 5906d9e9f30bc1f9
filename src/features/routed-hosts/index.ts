// Public addresses routed onto bridges (a /32 uplink, one bridge per address or subnet, host
// routes): each is a VM's address. kairo renders, per address, what the user pastes into the guest
// and into libvirt; the lab starts a VM configured from the guest's networkd file.
import { defineFeature } from '../feature.js';
import { parseCidr } from '../../lib/ip.js';
import { formatPath } from '../../config/diagnostics.js';
import { GUESTS_DIR, renderRoutedHosts, routedHosts, type RoutedHost } from './render.js';

export const routedHostsFeature = defineFeature({
  id: 'routed-hosts',
  model(ctx): RoutedHost[] | undefined {
    const hosts = routedHosts(ctx);
    // IPv6 routed onto a bridge has no guest snippets yet, but its anti-spoofing rule below.
    const routedBridge = ctx.interfaces.some((i) => i.bridge && i.routes.some((r) => !r.via));
    return hosts.length || routedBridge ? hosts : undefined;
  },
  render: (hosts, ctx) => renderRoutedHosts(hosts, ctx.head),
  // Anti-spoofing per bridge: what a guest on it sends must come from the bridge's own subnets or
  // from the addresses routed onto it, so one VM cannot use another's address (IPv4 had only
  // rp_filter, where the site set it; IPv6 had nothing).
  firewall: (_hosts, node) => ({
    fromZone: node.interfaces.filter((i) => i.bridge && i.routes.some((r) => !r.via)).flatMap((i) => ([4, 6] as const).flatMap((family) => {
      const routed = i.routes.filter((r) => !r.via).map((r) => parseCidr(r.to, true)).filter((c) => c?.family === family).map((c) => c!.text);
      if (routed.length === 0) return [];
      const own = (family === 4 ? i.ipv4 : i.ipv6).map((c) => c.network);
      const path = formatPath(['interfaces', i.key, 'routes']);
      return [{
        zone: i.zone,
        rule: {
          matches: [{ kind: 'iif' as const, devices: [i.device] }, { kind: 'nfproto' as const, family }, { kind: 'addr' as const, dir: 'saddr' as const, family, prefixes: [...own, ...routed], negate: true }],
          counter: true, verdict: { kind: 'drop' as const }, comment: `${path}: source not routed to ${i.device}`, decides: { path },
        },
      }];
    })),
  }),
  lab: {
    hosts: (hosts) => hosts.map((h) => ({
      role: 'vm' as const, name: h.addr, label: `VM ${h.addr} on ${h.bridge}`, segment: h.iface.key,
      configFile: `${GUESTS_DIR}/${h.addr}/10-kairo-eth0.network`, owns: [h.addr], serve: [],
    })),
  },
});
