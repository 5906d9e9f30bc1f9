// DHCPv6-PD: networkd asks for the prefix and numbers the LANs (features/interfaces/networkd.ts);
// this keeps the firewall's view of it current. A small follower sets each `pd_<link>` set to the
// /64 the link holds from the delegated prefix, within two seconds of a change (a new prefix after
// a reconnect), and again every 30 s (after a full ruleset reload emptied the sets).
import type { NodeModel } from '../../model/types.js';
import type { Artifact } from '../../render/artifact.js';
import { ident } from '../../render/nft.js';

export const PD_FOLLOW_PATH = '/etc/kairo/pd/follow.sh';

export function pdFollowScript(m: NodeModel, head: string): string | undefined {
  const links = m.interfaces.filter((i) => i.ipv6From);
  if (links.length === 0) return undefined;
  const pairs = links.map((i) => `${i.device}:${ident('pd', i.key)}`).join(' ');
  return `#!/bin/sh
${head}# Keeps nft sets equal to the delegated /64 each link holds: ${links.map((i) => `${i.device} → @${ident('pd', i.key)}`).join(', ')}.
set -u
STATE=\${KAIRO_PD_STATE:-/run/kairo/pd}
mkdir -p "$STATE"

update() {
  for pair in ${pairs}; do
    dev=\${pair%%:*}; set=\${pair#*:}
    # The delegated address is the dynamic one (it has lifetimes); static ULAs are not.
    now=$(ip -6 -o addr show dev "$dev" scope global dynamic 2>/dev/null | awk '{ print $4; exit }')
    was=$(cat "$STATE/$set" 2>/dev/null || true)
    [ "$now" = "$was" ] && [ "\${1:-}" != force ] && continue
    if nft -f - <<NFT
flush set inet kairo $set
$( [ -n "$now" ] && echo "add element inet kairo $set { $now }" )
NFT
    then
      echo "$now" > "$STATE/$set"
      [ "$now" != "$was" ] && echo "pd: $dev now \${now:-none} (was \${was:-none}); @$set updated"
    fi
  done
}

n=0
while :; do
  if [ $((n % 15)) -eq 0 ]; then update force; else update; fi
  n=$((n + 1))
  sleep 2
done
`;
}

export function renderPrefixDelegation(m: NodeModel, head: string): Artifact[] {
  const script = pdFollowScript(m, head);
  if (!script) return [];
  const unit = `${head}[Unit]
Description=kairo: keep the firewall's delegated-prefix sets current
After=kairo-boot.service systemd-networkd.service

[Service]
ExecStart=${PD_FOLLOW_PATH}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
  return [
    { path: PD_FOLLOW_PATH, content: script, mode: 0o755, owner: 'prefix-delegation', reload: 'none' },
    { path: '/etc/systemd/system/kairo-pd-follow.service', content: unit, mode: 0o644, owner: 'prefix-delegation', reload: 'none' },
  ];
}
