// The sysctl file: forwarding, rp_filter and the site's extra keys, i.e. what systemd-networkd does
// not manage. Router advertisements and link-local addressing are networkd's (IPv6AcceptRA=,
// LinkLocalAddressing= in the .network files): it sets accept_ra=0 on every link it manages and
// runs its own RA client, so an accept_ra key here would only be overwritten. Forwarding stays
// here on purpose: networkd's IPForward= would switch it on whenever networkd starts, before or
// without kairo's ruleset; here it follows the ruleset (kairo-boot).
import type { NodeModel } from '../../model/types.js';
import type { DeviceFacts } from '../feature.js';
import type { SysctlModel } from './index.js';

const RP = { strict: 1, loose: 2, off: 0 } as const;

/** sysctl.d takes '/' as the separator, which keeps dotted device names (eth0.10) intact. */
function key(...parts: string[]): string {
  return parts.some((p) => p.includes('.')) ? parts.join('/') : parts.join('.');
}

export function sysctlEntries(s: SysctlModel, node: NodeModel, devices: DeviceFacts[]): [string, string][] {
  const out: [string, string][] = [
    ['net.ipv4.ip_forward', s.ipv4Forwarding ? '1' : '0'],
    ['net.ipv6.conf.all.forwarding', s.ipv6Forwarding ? '1' : '0'],
  ];
  // A PPP device exists only while the session is up: per-device keys would fail at boot and apply.
  const transient = new Set(devices.filter((d) => d.transient).map((d) => d.device));
  for (const i of node.interfaces.filter((x) => !transient.has(x.device))) {
    if (i.rpFilter) out.push([key('net', 'ipv4', 'conf', i.device, 'rp_filter'), String(RP[i.rpFilter])]);
  }
  for (const [k, v] of Object.entries(s.extra)) out.push([k, v]);
  return out;
}
