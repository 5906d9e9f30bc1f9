// PPPoE (seed 004): a pppd peer using the kernel's PPPoE through the rp-pppoe plugin, kept up by a
// systemd unit; the Ethernet device under it gets no address. The firewall and NAT follow the PPP
// device (zones name it), and TCP MSS is clamped to its smaller MTU.
import { type Artifact, unitText } from '../../render/artifact.js';
import type { PppoeLink } from './index.js';

export const PEERS_DIR = '/etc/ppp/peers';

function quote(s: string): string {
  // pppd's option parser: double quotes, backslash escapes.
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function peerName(p: PppoeLink): string {
  return `kairo-${p.key}`;
}

export function unitName(p: PppoeLink): string {
  return `kairo-pppoe-${p.key}.service`;
}

export function peerFile(p: PppoeLink, head: string): string {
  return `${head}# PPPoE for ${p.path} over ${p.over}. Contains the password: mode 0600.
plugin rp-pppoe.so
nic-${p.over}
${p.serviceName ? `rp_pppoe_service ${quote(p.serviceName)}\n` : ''}user ${quote(p.user)}
password ${quote(p.password.reveal())}
unit ${p.unit}
noauth
hide-password
noipdefault
defaultroute
persist
maxfail 0
holdoff 5
mtu ${p.mtu}
mru ${p.mtu}
lcp-echo-interval 20
lcp-echo-failure 3
noaccomp
default-asyncmap
`;
}

export function renderPppoe(links: PppoeLink[], head: string): Artifact[] {
  // Several sessions may share one carrier (two PPPoE sessions over one line): one .network for it.
  const carriers = new Map<string, string[]>();
  for (const p of links) carriers.set(p.over, [...(carriers.get(p.over) ?? []), p.path]);
  const carrierFiles = [...carriers].map(([over, paths]) => ({
    path: `/etc/systemd/network/40-kairo-${over}.network`,
    content: `${head}[Match]\nName=${over}\n\n[Network]\nDescription=kairo carrier of ${paths.join(', ')} (PPPoE, no addresses)\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    mode: 0o644, owner: 'pppoe', reload: 'networkd' as const,
  }));
  return [...links.flatMap((p) => {
    const unit = `${head}[Unit]
Description=${unitText(`kairo: PPPoE ${p.device} over ${p.over} (${p.path})`)}
Wants=network.target
After=network.target kairo-boot.service

[Service]
Type=simple
ExecStart=/usr/sbin/pppd call ${peerName(p)} nodetach
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;
    return [
      { path: `${PEERS_DIR}/${peerName(p)}`, content: peerFile(p, head), mode: 0o600, owner: 'pppoe', reload: 'none' as const, sensitive: true },
      { path: `/etc/systemd/system/${unitName(p)}`, content: unit, mode: 0o644, owner: 'pppoe', reload: 'none' as const },
    ];
  }), ...carrierFiles];
}
