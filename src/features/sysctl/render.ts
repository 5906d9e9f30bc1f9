// sysctl.d: forwarding, accept_ra=2 on SLAAC uplinks of a forwarding router (seed 002), rp_filter.
import type { NodeModel } from '../../model/types.js';

const RP = { strict: 1, loose: 2, off: 0 } as const;

/** sysctl.d takes '/' as the separator, which keeps dotted device names (eth0.10) intact. */
function key(...parts: string[]): string {
  return parts.some((p) => p.includes('.')) ? parts.join('/') : parts.join('.');
}

export function sysctlEntries(m: NodeModel): [string, string][] {
  const out: [string, string][] = [
    ['net.ipv4.ip_forward', m.sysctl.ipv4Forwarding ? '1' : '0'],
    ['net.ipv6.conf.all.forwarding', m.sysctl.ipv6Forwarding ? '1' : '0'],
  ];
  // A PPP device exists only while the session is up: per-device keys would fail at boot and apply.
  for (const i of m.interfaces.filter((x) => !x.pppoe)) {
    // The kernel ignores RAs on a forwarding interface unless accept_ra is 2.
    if (i.acceptRa && m.sysctl.ipv6Forwarding) out.push([key('net', 'ipv6', 'conf', i.device, 'accept_ra'), '2']);
    if (i.rpFilter) out.push([key('net', 'ipv4', 'conf', i.device, 'rp_filter'), String(RP[i.rpFilter])]);
  }
  for (const [k, v] of Object.entries(m.sysctl.extra)) out.push([k, v]);
  return out;
}

export function renderSysctl(m: NodeModel): string {
  return sysctlEntries(m).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}
