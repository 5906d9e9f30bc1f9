// The AFTR side of DS-Lite for full-kernel guest tests: decapsulates the softwire and NATs to its
// public address; the "internet" host behind it counts packets by source address, so the NAT is
// observed where it matters. Shared by the guest infrastructure test and the kairo-rendered B4 test.
// b4 ==(link "access", IPv6 2001:db8:a::/64)== aftr --veth-- [netns "inet": 203.0.113.200 on lo]
import { buildGuestKernel, buildSystemImage, guestsAvailable, systemGuestsAvailable } from '../../src/lab/guest.js';
import { isRoot } from '../../src/lib/exec.js';

/**
 * Why the guest tests cannot run here, or false. Without QEMU or the boot files they are skipped
 * (never passed); with KAIRO_GUEST_BUILD=1 or CI=true the boot files are built first.
 */
export function guestTestSkip(): string | false {
  let a = guestsAvailable();
  if (!a.ok && (process.env.KAIRO_GUEST_BUILD === '1' || process.env.CI === 'true')) {
    if (!isRoot()) return 'skipped: building the guest boot files needs root (apt-get)';
    const b = buildGuestKernel();
    if (!b.ok) throw new Error(`scripts/guest-kernel.sh failed:\n${b.output}`);
    a = guestsAvailable();
  }
  return a.ok ? false : `skipped: ${a.reason}`;
}

/**
 * Why the systemd guest tests cannot run here, or false: they need the peers' boot files (as
 * guestTestSkip) and the systemd guest's image. With KAIRO_GUEST_BUILD=1 or CI=true a missing image
 * is built; an image that exists is brought up to date with this checkout's kairo first (a cache
 * hit when nothing changed), so the guest never runs an older kairo than the one under test.
 */
export function systemGuestTestSkip(): string | false {
  const base = guestTestSkip();
  if (base) return base;
  const build = process.env.KAIRO_GUEST_BUILD === '1' || process.env.CI === 'true';
  const a = systemGuestsAvailable();
  if (!a.ok && !build) return `skipped: ${a.reason}`;
  if (!isRoot()) return a.ok ? 'skipped: bringing the systemd guest image up to date needs root' : 'skipped: building the systemd guest image needs root (mmdebstrap)';
  const b = buildSystemImage();
  if (!b.ok) throw new Error(`scripts/guest-image.sh failed:\n${b.output}`);
  const after = systemGuestsAvailable();
  return after.ok ? false : `skipped: ${after.reason}`;
}

export const AFTR_NFT = `flush ruleset
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" ip saddr { 192.0.0.0/29, 192.168.0.0/16 } counter masquerade comment "DS-Lite NAT44"
  }
}
`;

export const INTERNET_NFT = `table ip observe {
  chain pre {
    type filter hook prerouting priority raw;
    ip saddr 198.51.100.1 counter comment "from-aftr-public"
    ip saddr { 192.0.0.0/29, 192.168.0.0/16 } counter comment "from-b4-private"
  }
}
`;

/**
 * The AFTR's script. `b4`: the B4's IPv6 address (the softwire's far end). `ra`: also be the
 * uplink's IPv6 router, announcing 2001:db8:a::/64 for SLAAC (radvd), as the home gateway of an
 * IPoE line does; the B4's address is then its SLAAC address (EUI-64 of its MAC, see eui64()).
 */
export function aftrScript(opts: { b4?: string; ra?: boolean } = {}): string {
  const ra = opts.ra
    ? `echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
radvd -C /etc/kairo/radvd.conf -p /run/radvd.pid
`
    : '';
  return `set -eu
# What systemd-modules-load does at boot on a host (this guest's /init does not run it).
for m in $(grep -v '^#' /etc/modules-load.d/kairo.conf 2>/dev/null); do modprobe "$m"; done
nft -f /etc/kairo/nftables.nft
ip -6 addr add 2001:db8:a::1/64 dev b4side nodad
${ra}ip -6 tunnel add dslite mode ipip6 local 2001:db8:a::1 remote ${opts.b4 ?? '2001:db8:a::2'} encaplimit none
ip link set dslite mtu 1460 up
ip addr add 192.0.0.1/29 dev dslite
# A B4 that routes its LAN without NAT (seed 000) sends 192.168.x.x: back through the softwire.
ip route add 192.168.0.0/16 dev dslite
# The internet: a namespace behind a veth, its address on lo.
ip netns add inet
ip link add wan type veth peer name uplink netns inet
ip addr add 198.51.100.1/24 dev wan
ip link set wan up
ip route add default via 198.51.100.2
ip -n inet link set lo up
ip -n inet link set dev uplink up
ip -n inet addr add 198.51.100.2/24 dev uplink
ip -n inet addr add 203.0.113.200/32 dev lo
ip -n inet route add default via 198.51.100.1
ip netns exec inet nft -f /etc/kairo/internet.nft
ip netns exec inet sh -c 'while :; do echo hello-from-internet | nc -l -p 8080; done' >/dev/null 2>&1 &
# Forwarding last, once the NAT is in place: no packet may leave with B4's private address.
echo 1 > /proc/sys/net/ipv4/ip_forward
echo "KAIRO-RESULT aftr=ready"
`;
}

export const AFTR = aftrScript();

/** radvd on the AFTR's link to the B4: 2001:db8:a::/64, autonomous (SLAAC), every 3-10 s. */
export const AFTR_RADVD = `interface b4side {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  prefix 2001:db8:a::/64 { AdvOnLink on; AdvAutonomous on; };
};
`;

/** The SLAAC (modified EUI-64) address of MAC in a /64 written as its four groups (`2001:db8:a:0`). */
export function eui64(prefix64: string, mac: string): string {
  if (prefix64.split(':').length !== 4) throw new Error(`eui64: ${prefix64} is not four groups`);
  const b = mac.split(':').map((x) => parseInt(x, 16));
  b[0] ^= 0x02;
  const w = [(b[0] << 8) | b[1], (b[2] << 8) | 0xff, 0xfe00 | b[3], (b[4] << 8) | b[5]];
  return `${prefix64}:${w.map((x) => x.toString(16)).join(':')}`;
}

export const AFTR_AFTER = `c() { ip netns exec inet nft list chain ip observe pre | sed -n "s/.*counter packets \\([0-9]*\\) .*$1.*/\\1/p"; }
echo "KAIRO-RESULT internet_saw_public=$(c from-aftr-public)"
echo "KAIRO-RESULT internet_saw_private=$(c from-b4-private)"
echo "KAIRO-RESULT masquerade_packets=$(nft list chain ip nat postrouting | sed -n 's/.*counter packets \\([0-9]*\\) .*/\\1/p')"
`;


// The PPPoE access concentrator: pppoe-server (user-space: pppd over a pty, ppp_async) hands out
// 10.64.0.2 with itself at 10.64.0.1, PAP against /etc/ppp/pap-secrets, and serves TCP 8080. It
// loads /etc/kairo/observe.nft first, so a test can count what arrives.
export const AC_OPTIONS = 'require-pap\nlcp-echo-interval 10\nlcp-echo-failure 3\nmtu 1492\nmru 1492\n';

export const AC = `set -eu
nft -f /etc/kairo/observe.nft
pppoe-server -I lan -L 10.64.0.1 -R 10.64.0.2 -N 4 -C kairo-ac -S isp -O /etc/ppp/pppoe-server-options
(while :; do echo hello-over-ppp | nc -l -p 8080 >/dev/null 2>&1; done) &
echo "KAIRO-RESULT ac=ready"
`;

