// DHCPv6-PD: networkd asks for the prefix and numbers the LANs (features/interfaces/networkd.ts);
// this keeps the firewall's view of it current. A small follower sets each `pd_<link>` set to the
// /64 the link holds from the delegated prefix, within two seconds of a change (a new prefix after
// a reconnect), and again every 30 s (after a full ruleset reload emptied the sets).
import { ident } from '../../render/nft.js';
import type { NptPdModel } from '../nat/model.js';
import type { PdModel } from './index.js';

export const PD_FOLLOW_PATH = '/etc/kairo/pd/follow.sh';

export function pdFollowScript(pd: PdModel, nptPd: NptPdModel[], head: string): string | undefined {
  const links = pd.lans;
  if (links.length === 0 && nptPd.length === 0) return undefined;
  const pairs = links.map((i) => `${i.device}:${ident('pd', i.key)}`).join(' ');
  const npts = nptPd.map((n) => `  npt ${n.index} ${n.subnet} ${n.inside.network} "\${1:-}"`).join('\n');
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

# The /64 number SUBNET of the delegated prefix, from the unreachable route the DHCPv6 client
# installs for the whole delegation (2001:db8:200::/56, subnet 2 → 2001:db8:200:2::/64).
pd_subnet() {
  ip -6 -o route show type unreachable proto dhcp 2>/dev/null | awk -v s="$1" '
    function hex(h,  i, v) { v = 0; h = tolower(h); for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    {
      split($2, pl, "/"); if (pl[2] + 0 > 64) next
      n = split(pl[1], parts, "::")
      nh = (parts[1] == "") ? 0 : split(parts[1], h1, ":")
      nt = (n > 1 && parts[2] != "") ? split(parts[2], h2, ":") : 0
      for (i = 1; i <= 8; i++) g[i] = 0
      for (i = 1; i <= nh; i++) g[i] = hex(h1[i])
      for (i = 1; i <= nt; i++) g[8 - nt + i] = hex(h2[i])
      # The subnet bits of a delegated prefix are zero: adding is or-ing.
      g[4] += s % 65536; g[3] += int(s / 65536)
      printf "%x:%x:%x:%x::/64\\n", g[1], g[2], g[3], g[4]; exit
    }'
}

# NPTv6 to a /64 of the delegated prefix: refill its two chains when the prefix changes.
npt() {
  now=$(pd_subnet "$2")
  was=$(cat "$STATE/npt$1" 2>/dev/null || true)
  [ "$now" = "$was" ] && [ "\${4:-}" != force ] && return 0
  rules=""
  [ -n "$now" ] && rules="add rule ip6 kairo_nat npt_pd_$1_out ip6 saddr $3 snat ip6 prefix to $now
add rule ip6 kairo_nat npt_pd_$1_in ip6 daddr $now dnat ip6 prefix to $3"
  if printf 'flush chain ip6 kairo_nat npt_pd_%s_out\\nflush chain ip6 kairo_nat npt_pd_%s_in\\n%s\\n' "$1" "$1" "$rules" | nft -f -; then
    echo "$now" > "$STATE/npt$1"
    [ "$now" != "$was" ] && echo "pd: NPTv6 $3 now to \${now:-nothing} (was \${was:-nothing})"
  fi
}

follow() {
  update "\${1:-}"
${npts || '  :'}
}

n=0
while :; do
  if [ $((n % 15)) -eq 0 ]; then follow force; else follow; fi
  n=$((n + 1))
  sleep 2
done
`;
}

