// Containers on a bridge, each with an address per family and a default route via the
// bridge's address (the host masquerades them, NAT66 included). Per host, what the user puts into
// the container's configuration:
//   /etc/kairo/containers/<name>/lxc.conf          the lxc.net.0.* lines (LXC 3+ keys)
//   /etc/kairo/containers/<name>/10-kairo-eth0.network   the same for a networkd inside the container
// The lab configures its forward-target namespaces from the .network file.
import type { Artifact } from '../../render/artifact.js';
import type { ContainerLink } from './index.js';

export const CONTAINERS_DIR = '/etc/kairo/containers';

export function renderContainers(links: ContainerLink[], head: string): Artifact[] {
  return links.flatMap(({ iface: i, hosts }) =>
    hosts.flatMap((h) => {
      const gw4 = i.ipv4[0]?.addr.toString();
      const gw6 = i.ipv6.find((a) => a.addr.range() !== 'linkLocal')?.addr.toString();
      const p4 = i.ipv4[0]?.prefix;
      const p6 = i.ipv6.find((a) => a.addr.range() !== 'linkLocal')?.prefix;
      const lxc = [
        `lxc.net.0.type = veth`,
        `lxc.net.0.link = ${i.device}`,
        `lxc.net.0.flags = up`,
        ...(h.ipv4 ? [`lxc.net.0.ipv4.address = ${h.ipv4}/${p4}`, `lxc.net.0.ipv4.gateway = ${gw4}`] : []),
        ...(h.ipv6 ? [`lxc.net.0.ipv6.address = ${h.ipv6}/${p6}`, `lxc.net.0.ipv6.gateway = ${gw6}`] : []),
      ].join('\n');
      const net = [
        '[Match]\nName=eth0\n',
        `[Network]\n${h.ipv4 ? `Address=${h.ipv4}/${p4}\nGateway=${gw4}\n` : ''}${h.ipv6 ? `Address=${h.ipv6}/${p6}\nGateway=${gw6}\n` : ''}IPv6AcceptRA=no`,
      ].join('\n');
      const file = (name: string, content: string): Artifact => ({ path: `${CONTAINERS_DIR}/${h.name}/${name}`, content, mode: 0o644, owner: 'containers', reload: 'none', install: false });
      return [
        file('lxc.conf', `${head}# In the container's config (${h.path}: ${h.name} on ${i.device})\n${lxc}\n`),
        file('10-kairo-eth0.network', `${head}# Inside the container: /etc/systemd/network/10-kairo-eth0.network\n${net}\n`),
      ];
    }),
  );
}
