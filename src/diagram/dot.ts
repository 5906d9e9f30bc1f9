// The site as a Graphviz graph (pure): what the owners of these setups drew by hand with nwdiag
// and blockdiag. Links are drawn as networks (a box with the subnet, grouped by zone), routers as
// nodes wired to them with the device and address each has there; the uplink leads to the
// Internet; published services, routed VMs, DHCP pools, softwires and NAT are written where they
// happen. ./svg.ts lays it out with Graphviz.
import type { Site } from '../config/schema.js';
import type { IfaceModel, NodeModel } from '../model/types.js';
import { featureModel } from '../model/build.js';
import { nat } from '../features/nat/index.js';
import { dhcp } from '../features/dhcp/index.js';
import { dsLite } from '../features/ds-lite/index.js';
import { routedHostsFeature } from '../features/routed-hosts/index.js';
import { rangeText } from '../features/dhcp/pools.js';
import { contains, parseAddress, parseCidr } from '../lib/ip.js';

/** A DOT string: quotes and backslashes escaped, lines joined with Graphviz's centred break. */
function q(lines: string | string[]): string {
  const text = (Array.isArray(lines) ? lines : [lines]).map((l) => l.replaceAll('\\', '\\\\').replaceAll('"', '\\"')).join('\\n');
  return `"${text}"`;
}

const id = (...parts: string[]) => q(parts.join(':'));

function isUplink(m: NodeModel, i: IfaceModel): boolean {
  return Boolean(i.gateway4 || i.peer4 || i.gateway6 || i.ipv4Dhcp || i.ipv6Mode === 'slaac' || i.ipv6Mode === 'dhcp' || m.contributions.devices.some((d) => d.device === i.device && d.uplink));
}

function addressing(i: IfaceModel): string[] {
  const out = [...new Set([...i.ipv4, ...i.ipv6].filter((a) => a.addr.range() !== 'linkLocal').map((a) => a.network))];
  if (i.ipv4Dhcp) out.push('IPv4 by DHCP');
  if (i.ipv6Mode === 'slaac') out.push('IPv6 by SLAAC');
  if (i.ipv6Mode === 'dhcp') out.push('IPv6 by DHCPv6');
  return out;
}

const ZONE_COLORS = ['#fde2e4', '#e2ece9', '#dfe7fd', '#fff1e6', '#eae4e9', '#e2f0cb', '#f0efeb'];

export function siteDot(site: Site, models: NodeModel[]): string {
  const out: string[] = [];
  const title = [`site ${site.name ?? 'site'}${site.description ? ` — ${site.description}` : ''}`];
  out.push('graph kairo {');
  out.push(`  graph [label=${q(title)}, labelloc=t, fontname="Helvetica", fontsize=14, rankdir=TB, nodesep=0.5, ranksep=0.8, bgcolor="white"];`);
  out.push('  node [fontname="Helvetica", fontsize=10];');
  out.push('  edge [fontname="Helvetica", fontsize=9, color="#555555"];');

  // Links (networks), once per key, in the zone they belong to; the zone's clusters coloured apart.
  const links = new Map<string, { zone: string; lines: string[]; uplink: boolean }>();
  for (const m of models) {
    const pools = new Map((featureModel(m, dhcp)?.links ?? []).map((l) => [l.key, l]));
    for (const i of m.interfaces) {
      const entry = links.get(i.key) ?? { zone: i.zone, lines: [i.key, ...addressing(i)], uplink: isUplink(m, i) };
      const d = pools.get(i.key);
      if (d?.v4?.pools.length) entry.lines.push(`DHCP${models.length > 1 ? ` (${m.node})` : ''} ${d.v4.pools.map(rangeText).join(', ')}`);
      if (d?.v6?.pools.length) entry.lines.push(`DHCPv6 ${d.v6.pools.map(rangeText).join(', ')}`);
      if (d?.v6?.delegate && !entry.lines.some((l) => l.startsWith('delegates'))) entry.lines.push(`delegates /${d.v6.delegate.length}s of ${d.v6.delegate.prefix.network}`);
      links.set(i.key, entry);
    }
  }
  const zones = [...new Set([...links.values()].map((l) => l.zone))];
  zones.forEach((zone, k) => {
    out.push(`  subgraph ${q(`cluster_zone_${zone}`)} {`);
    out.push(`    label=${q(`zone ${zone}`)}; style="rounded,filled"; fillcolor=${q(ZONE_COLORS[k % ZONE_COLORS.length])}; color="#999999";`);
    for (const [key, l] of links) {
      if (l.zone === zone) out.push(`    ${id('link', key)} [shape=box, style="rounded,filled", fillcolor="#ffffff", penwidth=2, label=${q(l.lines)}];`);
    }
    out.push('  }');
  });

  // The Internet, beyond every uplink.
  const uplinks = [...links].filter(([, l]) => l.uplink).map(([k]) => k);
  if (uplinks.length) out.push(`  ${id('internet')} [shape=ellipse, style="dashed", label="Internet"];`);
  for (const k of uplinks) out.push(`  ${id('link', k)} -- ${id('internet')} [style=dashed];`);

  const aftrs = new Set<string>();
  for (const m of models) {
    const desc = site.nodes?.[m.node]?.description;
    out.push(`  ${id('node', m.node)} [shape=box3d, style="filled", fillcolor="#cfe2f3", label=${q([m.node, ...(desc ? [desc] : [])])}];`);
    for (const i of m.interfaces) {
      const addrs = [...i.ipv4, ...i.ipv6].filter((a) => a.addr.range() !== 'linkLocal').map((a) => a.addr.toString());
      const label = [i.bridge ? `${i.device} (bridge${i.bridge.length ? `: ${i.bridge.join(', ')}` : ''})` : i.device, ...addrs];
      out.push(`  ${id('node', m.node)} -- ${id('link', i.key)} [label=${q(label)}];`);
    }
    // A softwire to the AFTR: IPv4 over IPv6, a link of its own to the Internet.
    for (const d of featureModel(m, dsLite) ?? []) {
      if (!aftrs.has(d.aftr)) {
        aftrs.add(d.aftr);
        out.push(`  ${id('aftr', d.aftr)} [shape=ellipse, style="dashed", label=${q(['AFTR', d.aftr])}];`);
        if (uplinks.length) out.push(`  ${id('aftr', d.aftr)} -- ${id('internet')} [style=dashed];`);
      }
      out.push(`  ${id('node', m.node)} -- ${id('aftr', d.aftr)} [style=bold, color="#3d85c6", label=${q([`${d.tunnel} (DS-Lite)`, `over ${d.iface.device}`])}];`);
    }
  }

  const first = models[0];
  const n = featureModel(first, nat);
  // NAT where it happens: one note per uplink-side translation.
  for (const mq of n?.masquerade ?? []) {
    const note = id('note', 'masq', mq.path, String(mq.family));
    out.push(`  ${note} [shape=note, fontsize=9, label=${q([`masquerade IPv${mq.family}`, `(${mq.path})`])}];`);
    for (const dev of mq.devices) {
      const i = first.interfaces.find((x) => x.device === dev);
      if (i) out.push(`  ${note} -- ${id('link', i.key)} [style=dotted];`);
    }
  }
  // Published services: the host behind the router, the public port pointing at it.
  const targets = new Map<string, string[]>();
  for (const f of n?.forwards ?? []) {
    const t = `${f.target.family === 6 ? `[${f.target.addr}]` : f.target.addr.toString()}`;
    const port = `${f.protos.join('+')}/${f.port}${f.portEnd ? `-${f.portEnd}` : ''}`;
    const list = targets.get(t) ?? [];
    list.push(`${f.name}: ${f.destination ?? 'public'} ${port} → ${t}:${f.target.port ?? f.port}`);
    targets.set(t, list);
  }
  for (const [t, lines] of targets) {
    const i = first.interfaces.find((x) => [...x.ipv4, ...x.ipv6].some((c) => c.family === (t.startsWith('[') ? 6 : 4) && containsText(c.network, t.replace(/^\[|\]$/g, ''))));
    out.push(`  ${id('host', t)} [shape=box, style="rounded", label=${q([t, ...lines])}];`);
    if (i) out.push(`  ${id('host', t)} -- ${id('link', i.key)};`);
    if (uplinks.length) out.push(`  ${id('internet')} -- ${id('host', t)} [style=dotted, color="#cc0000", constraint=false, label="published"];`);
  }
  // Routed public addresses: a VM on its bridge.
  for (const h of featureModel(first, routedHostsFeature) ?? []) {
    out.push(`  ${id('vm', h.addr)} [shape=box, style="rounded,dashed", label=${q([`VM ${h.addr}`, `gateway ${h.gateway}`])}];`, `  ${id('vm', h.addr)} -- ${id('link', h.iface.key)};`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

function containsText(net: string, addr: string): boolean {
  const c = parseCidr(net);
  const a = parseAddress(addr);
  return Boolean(c && a && contains(c, a.addr));
}
