// Public addresses routed onto bridges (a /32 uplink, one bridge per address or subnet, host
// routes): each is a VM's address. kairo renders, per address, what the user pastes into the guest
// and into libvirt; the lab starts a VM configured from the guest's networkd file.
import { defineFeature } from '../feature.js';
import { GUESTS_DIR, renderRoutedHosts, routedHosts, type RoutedHost } from './render.js';

export const routedHostsFeature = defineFeature({
  id: 'routed-hosts',
  model(ctx): RoutedHost[] | undefined {
    const hosts = routedHosts(ctx);
    return hosts.length ? hosts : undefined;
  },
  render: (hosts, ctx) => renderRoutedHosts(hosts, ctx.head),
  lab: {
    hosts: (hosts) => hosts.map((h) => ({
      role: 'vm' as const, name: h.addr, label: `VM ${h.addr} on ${h.bridge}`, segment: h.iface.key,
      configFile: `${GUESTS_DIR}/${h.addr}/10-kairo-eth0.network`, owns: [h.addr], serve: [],
    })),
  },
});
