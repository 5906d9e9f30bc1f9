// Every public address routed onto a bridge is a VM's address. What the user pastes
// into the guest and into libvirt, per address:
//   /etc/kairo/guests/<addr>/interfaces             ifupdown (/32, pointopoint)
//   /etc/kairo/guests/<addr>/10-kairo-eth0.network  the same for systemd-networkd guests
//   /etc/kairo/guests/<addr>/libvirt-interface.xml  the <interface> element for the domain XML
// The gateway is the host's public uplink address, reachable on-link through the bridge (the
// host answers ARP for it there). The lab configures its VMs from the .network file.
import type { IfaceModel } from '../../model/types.js';
import type { Artifact } from '../../render/artifact.js';
import { parseCidr } from '../../lib/ip.js';

export const GUESTS_DIR = '/etc/kairo/guests';

export interface RoutedHost {
  addr: string;
  bridge: string;
  gateway: string;
  iface: IfaceModel;
}

/** Host routes (no next hop, a single IPv4 address) on bridges, with the gateway the guest uses. */
export function routedHosts(m: { interfaces: IfaceModel[] }): RoutedHost[] {
  const uplink = m.interfaces.find((i) => i.peer4 || i.gateway4);
  const out: RoutedHost[] = [];
  for (const i of m.interfaces.filter((x) => x.bridge)) {
    const gateway = uplink?.ipv4[0]?.addr.toString() ?? i.ipv4[0]?.addr.toString();
    if (!gateway) continue;
    for (const r of i.routes.filter((x) => !x.via)) {
      const c = parseCidr(r.to, true);
      if (c?.family === 4 && c.prefix === 32) out.push({ addr: c.addr.toString(), bridge: i.device, gateway, iface: i });
    }
  }
  return out;
}

export function guestNetworkFile(h: RoutedHost): string {
  return `[Match]\nName=eth0\n\n[Network]\nDHCP=no\n\n[Address]\nAddress=${h.addr}/32\nPeer=${h.gateway}/32\n\n[Route]\nGateway=${h.gateway}\nGatewayOnLink=yes\n`;
}

export function renderRoutedHosts(hosts: RoutedHost[], head: string): Artifact[] {
  const xmlHead = `<!-- ${head.trim().split('\n').map((l) => l.replace(/^# ?/, '')).join(' ')} -->\n`;
  return hosts.flatMap((h) => {
    const dir = `${GUESTS_DIR}/${h.addr}`;
    const file = (name: string, content: string): Artifact => ({ path: `${dir}/${name}`, content, mode: 0o644, owner: 'routed-hosts', reload: 'none', install: false });
    return [
      file('interfaces', `${head}# In the guest: /etc/network/interfaces (after installing with DHCP on the bootstrap range)\nauto eth0\niface eth0 inet static\n  address ${h.addr}\n  netmask 255.255.255.255\n  gateway ${h.gateway}\n  pointopoint ${h.gateway}\n`),
      file('10-kairo-eth0.network', `${head}# In the guest: /etc/systemd/network/10-kairo-eth0.network\n${guestNetworkFile(h)}`),
      file('libvirt-interface.xml', `${xmlHead}<interface type='bridge'>\n  <source bridge='${h.bridge}'/>\n  <model type='virtio'/>\n</interface>\n`),
    ];
  });
}
