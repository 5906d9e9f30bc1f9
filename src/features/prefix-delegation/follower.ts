// DHCPv6-PD: networkd asks for the prefix and numbers the LANs (features/interfaces/networkd.ts);
// this keeps the firewall's view of it current. A small follower sets each `pd_<link>` set to the
// /64 the link holds from the delegated prefix, within two seconds of a change (a new prefix after
// a reconnect), and again every 30 s (after a full ruleset reload emptied the sets). On a link that
// announces its prefix (the ra feature), the old /64 is then withdrawn from the hosts (RFC 9096):
// networkd 252 only stops announcing it, so the follower sends RAs for it with lifetime 0
// (ra/deprecate.ts), five in the first ten seconds, then one a minute while hosts could still hold
// an address in it (networkd announced a delegated /64 valid for 3600 s).
import { ident } from '../../render/nft.js';
import type { NptPdModel } from '../nat/model.js';
import type { RaLink } from '../ra/model.js';
import { RA_DEPRECATE_PATH } from '../ra/deprecate.js';
import type { PdModel } from './index.js';

/** How long hosts may hold an address in a withdrawn delegated /64: the valid lifetime networkd 252 announced for it. */
const WITHDRAW_SECONDS = 3600;

export const PD_FOLLOW_PATH = '/etc/kairo/pd/follow.sh';

export function pdFollowScript(pd: PdModel, nptPd: NptPdModel[], head: string, announced: RaLink[] = []): string | undefined {
  const links = pd.lans;
  if (links.length === 0 && nptPd.length === 0) return undefined;
  // device:set:ra, ra = the RA's router lifetime and M/O flags (or '-' where nothing is announced).
  const ra = (dev: string) => {
    const l = announced.find((x) => x.device === dev && x.delegated);
    return l ? `${l.routerLifetime},${l.managed ? 'yes' : 'no'},${l.other ? 'yes' : 'no'}` : '-';
  };
  const pairs = links.map((i) => `${i.device}:${ident('pd', i.key)}:${ra(i.device)}`).join(' ');
  const withdraws = links.some((i) => ra(i.device) !== '-');
  const npts = nptPd.map((n) => `  npt ${n.index} ${n.subnet} ${n.inside.network} "\${1:-}"`).join('\n');
  return `#!/bin/sh
${head}# Keeps nft sets equal to the delegated /64 each link holds: ${links.map((i) => `${i.device} → @${ident('pd', i.key)}`).join(', ')}.
set -u
STATE=\${KAIRO_PD_STATE:-/run/kairo/pd}
mkdir -p "$STATE"
${withdraws ? `RA_WITHDRAW=\${KAIRO_ROOT:-}${RA_DEPRECATE_PATH}
` : ''}
update() {
  for pair in ${pairs}; do
    dev=\${pair%%:*}; rest=\${pair#*:}; set=\${rest%%:*}; ra=\${rest#*:}
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
${withdraws ? `      [ "$now" != "$was" ] && [ "$ra" != - ] && withdrawn "$dev" "$was" "$now" "$ra"
` : ''}    fi
  done
}
${withdraws ? `
# RFC 9096: the /64 a link just lost is announced with lifetime 0 until hosts' addresses in it have
# expired; one that comes back is no longer withdrawn. Lines: device prefix until sent lifetime,M,O.
withdrawn() {
  touch "$STATE/withdrawn"
  awk -v p="$3" '$2 != p' "$STATE/withdrawn" > "$STATE/withdrawn.new"
  [ -n "$2" ] && echo "$1 $2 $(( $(date +%s) + ${WITHDRAW_SECONDS} )) 0 $4" >> "$STATE/withdrawn.new"
  mv "$STATE/withdrawn.new" "$STATE/withdrawn"
}

withdraw() {
  [ -s "$STATE/withdrawn" ] || return 0
  t=$(date +%s)
  : > "$STATE/withdrawn.new"
  while read -r dev prefix until sent ra; do
    [ "$t" -ge "$until" ] && continue
    # Five at once (an RA can be lost, and nobody else repeats this one), then one a minute.
    if [ "$sent" -lt 5 ] || [ $((n % 30)) -eq 0 ]; then
      if [ "$sent" -eq 0 ]; then "$RA_WITHDRAW" "$dev" "$prefix" $(echo "$ra" | tr , ' ') && sent=1
      else "$RA_WITHDRAW" "$dev" "$prefix" $(echo "$ra" | tr , ' ') >/dev/null && sent=$((sent + 1)); fi
    fi
    echo "$dev $prefix $until $sent $ra" >> "$STATE/withdrawn.new"
  done < "$STATE/withdrawn"
  mv "$STATE/withdrawn.new" "$STATE/withdrawn"
}
` : ''}
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
${withdraws ? '  withdraw\n' : ''}${npts || '  :'}
}

n=0
while :; do
  if [ $((n % 15)) -eq 0 ]; then follow force; else follow; fi
  n=$((n + 1))
  sleep 2
done
`;
}

