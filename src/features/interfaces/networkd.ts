// systemd-networkd files: static addresses, gateways, point-to-point peers (a /32 uplink), routes,
// bridges and their ports. One .network per interface, one .netdev per bridge; features add lines
// at fixed points (NetworkdContribution).
import type { IfaceModel } from '../../model/types.js';
import type { Artifact } from '../../render/artifact.js';
import type { NetworkdContribution } from '../feature.js';
import { parseCidr } from '../../lib/ip.js';

export const NETWORKD_DIR = '/etc/systemd/network';

export function section(name: string, entries: [string, string | number | undefined][]): string {
  const body = entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return body.length ? `[${name}]\n${body.join('\n')}\n` : '';
}

function dhcpValue(i: IfaceModel): string | undefined {
  const v4 = i.ipv4Dhcp;
  const v6 = i.ipv6Mode === 'dhcp';
  if (v4 && v6) return 'yes';
  if (v4) return 'ipv4';
  if (v6) return 'ipv6';
  return undefined;
}

export function networkFile(i: IfaceModel, extra: NetworkdContribution[] = []): string {
  const parts: string[] = [];
  parts.push(section('Match', [['Name', i.device]]));
  if (i.mtu) parts.push(section('Link', [['MTUBytes', i.mtu]]));
  const net: [string, string | number | undefined][] = [['Description', `kairo ${i.path} (zone ${i.zone})`]];
  const dhcp = dhcpValue(i);
  if (dhcp) net.push(['DHCP', dhcp]);
  // networkd owns link-local addressing and router advertisements on the links it manages: it
  // writes accept_ra=0 and runs its own RA client, which takes RAs while forwarding (a sysctl
  // accept_ra=2 would be overwritten). IPv6 link-local only where the link speaks IPv6: an
  // IPv4-only link stays without IPv6 (and is up without waiting for duplicate address detection).
  const v6 = i.ipv6.length > 0 || i.ipv6Mode !== 'none' || i.acceptRa || extra.some((e) => e.ipv6);
  net.push(['LinkLocalAddressing', v6 ? 'ipv6' : 'no']);
  net.push(['IPv6AcceptRA', i.acceptRa || i.ipv6Mode === 'slaac' ? 'yes' : 'no']);
  if (i.bridge) net.push(['ConfigureWithoutCarrier', 'yes']);
  for (const e of extra) net.push(...(e.network ?? []));
  // Addresses with a peer need their own [Address] section; the rest go here.
  for (const a of i.ipv4) if (!(i.peer4 && a.prefix === 32)) net.push(['Address', a.text]);
  for (const a of i.ipv6) net.push(['Address', a.text]);
  if (i.gateway4 && !i.peer4) net.push(['Gateway', i.gateway4]);
  if (i.gateway6) net.push(['Gateway', i.gateway6]);
  parts.push(section('Network', net));
  for (const a of i.ipv4) {
    if (i.peer4 && a.prefix === 32) parts.push(section('Address', [['Address', a.text], ['Peer', `${i.peer4}/32`]]));
  }
  if (i.peer4 && i.gateway4) parts.push(section('Route', [['Gateway', i.gateway4], ['GatewayOnLink', 'yes']]));
  for (const e of extra) parts.push(...(e.sections ?? []));
  for (const r of i.routes) {
    const dest = parseCidr(r.to, true)!;
    parts.push(section('Route', [['Destination', dest.text], ['Gateway', r.via], ['Scope', r.via ? undefined : 'link'], ['Metric', r.metric]]));
  }
  return parts.join('\n');
}

export function renderNetworkd(interfaces: IfaceModel[], head: string, extra: NetworkdContribution[], unmanaged: Set<string>): Artifact[] {
  const out: Artifact[] = [];
  const file = (path: string, content: string): Artifact => ({ path, content: head + content, mode: 0o644, owner: 'interfaces', reload: 'networkd' });
  for (const i of interfaces) {
    if (unmanaged.has(i.device)) continue; // a feature's daemon brings it up (pppd), with a file of its own for what lies under it
    if (i.bridge) {
      out.push(file(`${NETWORKD_DIR}/40-kairo-${i.device}.netdev`, section('NetDev', [['Name', i.device], ['Kind', 'bridge']]) + '\n' + section('Bridge', [['STP', 'no']])));
      for (const port of i.bridge) {
        out.push(file(`${NETWORKD_DIR}/45-kairo-${port}.network`, section('Match', [['Name', port]]) + '\n' + section('Network', [['Description', `kairo port of ${i.path}`], ['Bridge', i.device]])));
      }
    }
    out.push(file(`${NETWORKD_DIR}/50-kairo-${i.device}.network`, networkFile(i, extra.filter((e) => e.device === i.device))));
  }
  return out;
}
