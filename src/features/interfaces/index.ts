// Interfaces: the core facts every other capability builds on (devices per node, zones,
// addresses, gateways, point-to-point peers, bridges, routes), rendered as systemd-networkd files.
import { formatPath } from '../../config/diagnostics.js';

import { interfacesOn, parsedStatic, pick } from '../../model/resolve.js';
import type { IfaceModel, SiteBase } from '../../model/types.js';
import { defineFeature } from '../feature.js';
import { verifyInterfaces } from './verify.js';
import { renderNetworkd } from './networkd.js';

function ipMode(v: unknown): 'static' | 'slaac' | 'dhcp' | 'none' {
  if (v === undefined) return 'none';
  if (v === 'slaac' || v === 'dhcp') return v;
  return 'static';
}

/** The node's interfaces, in declaration order. */
export function buildInterfaces(site: SiteBase, node: string): IfaceModel[] {
  return interfacesOn(site, node).map(([key, iface, device]) => {
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
      // A forwarding router takes RAs only where told (networkd IPv6AcceptRA=yes); SLAAC and DHCPv6 uplinks need them.
      acceptRa: iface['accept-ra'] ?? (ipv6Mode === 'slaac' || ipv6Mode === 'dhcp'),
      rpFilter: iface['rp-filter'],
      bridge: iface.bridge,
      mtu: iface.mtu,
      routes: iface.routes ?? [],
    };
  });
}

export const interfaces = defineFeature({
  id: 'interfaces',
  // The core keys of every interface entry are in src/config/schema-core.ts (no feature owns them).
  verify: verifyInterfaces,
  model: (ctx): IfaceModel[] => buildInterfaces(ctx.site, ctx.node),
  render(_m, ctx) {
    const unmanaged = new Set(ctx.contributions.devices.filter((d) => d.transient).map((d) => d.device));
    return renderNetworkd(ctx.node.interfaces, ctx.head, ctx.contributions.networkd, unmanaged);
  },
});

