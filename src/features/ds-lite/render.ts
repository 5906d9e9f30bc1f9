// DS-Lite B4 (RFC 6333, seed 000): once the uplink has a global IPv6 address (SLAAC on IPoE),
// bring up an ipip6 softwire to the AFTR and move the IPv4 default route onto it; on stop, move it
// back. A script plus a oneshot unit, like the seed's ipoe.sh/ipoe.service, with the waits bounded.
import { type Artifact, unitText } from '../../render/artifact.js';
import type { DsLiteLink } from './index.js';

export const DSLITE_DIR = '/etc/kairo/ds-lite';

export function dsLiteScript(d: DsLiteLink, head: string): string {
  const i = d.iface;
  const back = i.gateway4 ? `ip route replace default via ${i.gateway4} dev "$WAN"` : 'true';
  return `#!/bin/sh
${head}# DS-Lite B4 for ${i.path}: IPv4 over ipip6 from ${i.device} to the AFTR ${d.aftr}.
set -eu
WAN=${i.device}
TUNNEL=${d.tunnel}
AFTR=${d.aftr}

# A global, stable (not temporary, not tentative) IPv6 address on the uplink: the tunnel's source.
local_address() {
  ip -6 -o addr show dev "$WAN" scope global -tentative -deprecated -temporary | awk '{ sub("/.*", "", $4); print $4; exit }'
}

case "\${1:-}" in
start)
  waited=0
  while [ -z "$(local_address)" ]; do
    if [ "$waited" -ge ${d.waitSeconds} ]; then echo "ds-lite: no global IPv6 address on $WAN after ${d.waitSeconds} s" >&2; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
  LOCAL=$(local_address)
  ip -6 tunnel del "$TUNNEL" 2>/dev/null || true
  # encaplimit none: AFTRs drop packets that carry the encapsulation-limit option.
  ip -6 tunnel add "$TUNNEL" mode ipip6 remote "$AFTR" local "$LOCAL" dev "$WAN" encaplimit none
  ip link set "$TUNNEL" mtu ${d.mtu} up
  ip route replace default dev "$TUNNEL"
  echo "ds-lite: $TUNNEL up, $LOCAL -> $AFTR, IPv4 default route moved onto it"
  ;;
stop)
  ${back}
  ip -6 tunnel del "$TUNNEL" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
`;
}

export function unitName(d: DsLiteLink): string {
  return `kairo-ds-lite-${d.tunnel}.service`;
}

export function renderDsLite(links: DsLiteLink[], head: string): Artifact[] {
  return links.flatMap((d) => {
    const i = d.iface;
    const script = `${DSLITE_DIR}/${d.tunnel}.sh`;
    const unit = `${head}[Unit]
Description=${unitText(`kairo: DS-Lite softwire ${d.tunnel} over ${i.device} to ${d.aftr}`)}
Wants=network-online.target
After=network-online.target kairo-boot.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=${d.waitSeconds + 30}
ExecStart=${script} start
ExecStop=${script} stop

[Install]
WantedBy=multi-user.target
`;
    return [
      { path: script, content: dsLiteScript(d, head), mode: 0o755, owner: 'ds-lite', reload: 'none' as const },
      { path: `/etc/systemd/system/${unitName(d)}`, content: unit, mode: 0o644, owner: 'ds-lite', reload: 'none' as const },
    ];
  });
}
