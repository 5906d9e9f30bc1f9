// Containers (or VMs) on a link with fixed addresses, typically behind NAT44/NAT66 with port
// forwards to them: kairo renders each one's network snippets (LXC lines, a networkd file) with
// its addresses and default routes via the router. Link-local addresses are refused: a port
// forward cannot reach them (no scope id in NAT).
import { z } from 'zod';
import { address, name } from '../../config/schema-core.js';
import { formatPath } from '../../config/diagnostics.js';
import { contains, isLinkLocal, parseAddress } from '../../lib/ip.js';
import { parsedStatic, pick } from '../../model/resolve.js';
import type { IfaceModel } from '../../model/types.js';
import { defineFeature } from '../feature.js';
import { CONTAINERS_DIR, renderContainers } from './render.js';

export const hostSchema = z.strictObject({
  name: name.describe('container or VM name'),
  ipv4: address.optional().describe('its IPv4 address on this link'),
  ipv6: address.optional().describe('its IPv6 address on this link (a ULA for NAT66)'),
});

export interface ContainerLink {
  iface: IfaceModel;
  hosts: { name: string; ipv4?: string; ipv6?: string; path: string }[];
}

export const containers = defineFeature({
  id: 'containers',
  interfaceKeys: { hosts: z.array(hostSchema).optional().describe('containers or VMs on this link: kairo renders their network snippets (LXC, networkd)') },
  verify(c) {
    for (const [key, iface] of Object.entries(c.site.interfaces)) {
      (iface.hosts ?? []).forEach((h, n) => {
        for (const fam of ['ipv4', 'ipv6'] as const) {
          const a = h[fam];
          if (a === undefined) continue;
          const at = ['interfaces', key, 'hosts', n, fam];
          const p = parseAddress(a);
          const nets = c.nodes.flatMap((node) => parsedStatic(pick(iface[fam], node)));
          if (!p || p.family !== (fam === 'ipv4' ? 4 : 6)) c.error('address.invalid', at, `'${a}' is not an IPv${fam === 'ipv4' ? 4 : 6} address`);
          else if (isLinkLocal(p.addr)) c.error('nat.target-link-local', at, `${a} is link-local; port forwards cannot reach it (no scope id in NAT)`, 'give the container a ULA such as fd00::3');
          else if (!nets.some((x) => contains(x, p.addr))) c.error('address.outside-subnet', at, `${a} is outside ${nets.map((x) => x.network).join(', ') || `this link (it has no static ${fam})`}`, 'a container on this link needs an address in its prefix');
        }
      });
    }
  },
  model(ctx): ContainerLink[] | undefined {
    const links = ctx.interfaces.flatMap((i) => {
      const hosts = ctx.site.interfaces[i.key].hosts ?? [];
      return hosts.length ? [{ iface: i, hosts: hosts.map((h, n) => ({ ...h, path: formatPath(['interfaces', i.key, 'hosts', n]) })) }] : [];
    });
    return links.length ? links : undefined;
  },
  render: (links, ctx) => renderContainers(links, ctx.head),
  lab: {
    // One namespace per container, configured from the network file kairo renders for it; it
    // serves the ports forwards send it.
    hosts: (links) => links.flatMap(({ iface, hosts }) => hosts.map((h) => ({
      role: 'target' as const, name: h.name, label: `container ${h.name}`, segment: iface.key,
      configFile: `${CONTAINERS_DIR}/${h.name}/10-kairo-eth0.network`,
      owns: [h.ipv4, h.ipv6].filter((x): x is string => Boolean(x)).map((x) => parseAddress(x)!.addr.toString()),
      serve: [],
    }))),
  },
});
