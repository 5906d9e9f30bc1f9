// Seed 000 on a kernel that has ip6tnl: the ipoe-ha-pair example's router (beagle) runs kairo's
// own rendered files in a full-kernel guest (sysctl, nftables with the AFTR ipip rule and MSS
// clamping, the DS-Lite script), reaches an AFTR that decapsulates and NATs, and a LAN client
// behind it reaches the IPv4 Internet host through the softwire. Skipped when QEMU or the boot
// files are missing (see test/lab/guest.test.ts), never passed without running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestReport, runGuests } from '../../src/lab/guest.js';
import { AFTR, AFTR_AFTER, AFTR_NFT, INTERNET_NFT, guestTestSkip } from './guest-peers.js';
import { example } from './helpers.js';


// The example as written points at transix; in the guest the AFTR is the peer guest.
const site = example('ipoe-ha-pair', (t) => t.replace('aftr: transix-east', 'aftr: "2001:db8:a::1"'));
const beagle = site.nodes.find((n) => n.node === 'beagle')!;
const file = (p: string) => beagle.artifacts.find((a) => a.path === p)!;

// What networkd would do for the site's interfaces in the guest: enp3s0 is the NIC towards the
// AFTR; enp4s0 is a veth to a LAN client namespace. The IPv6 address stands in for SLAAC.
const B4 = `set -u
ip link set enp3s0 up
ip addr add 192.168.1.3/24 dev enp3s0
ip netns add lan
ip link add enp4s0 type veth peer name eth0 netns lan
ip addr add 192.168.2.2/24 dev enp4s0
ip link set enp4s0 up
ip -n lan link set lo up
ip -n lan link set eth0 up
ip -n lan addr add 192.168.2.254/24 dev eth0
ip -n lan route add default via 192.168.2.2
sysctl -q -p /etc/kairo/sysctl.conf && echo "KAIRO-RESULT sysctl=ok"
# What systemd-modules-load does at boot on a host (this guest's /init does not run it).
for m in $(grep -v '^#' /etc/modules-load.d/kairo.conf 2>/dev/null); do modprobe "$m"; done
nft -f /etc/kairo/nftables.nft && echo "KAIRO-RESULT nft=loaded"
ip -6 addr add 2001:db8:a::2/64 dev enp3s0 nodad
sh /etc/kairo/ds-lite/ip6tnl1.sh start && echo "KAIRO-RESULT dslite=up"
echo "KAIRO-RESULT tunnel=$(ip -d link show ip6tnl1 | grep -o 'ip6tnl ipip6' | head -1)"
echo "KAIRO-RESULT mtu=$(cat /sys/class/net/ip6tnl1/mtu)"
echo "KAIRO-RESULT v4default=$(ip route show default | head -1 | sed 's/ *$//' | tr ' ' _)"
if kairo-retry 30 ip netns exec lan ping -c1 -W1 -q 203.0.113.200 >/dev/null; then echo "KAIRO-RESULT lan_ping=ok"; else echo "KAIRO-RESULT lan_ping=fail"; fi
reply=$(kairo-retry 5 ip netns exec lan nc -w 3 203.0.113.200 8080 </dev/null)
echo "KAIRO-RESULT lan_tcp=\${reply:-none}"
echo "KAIRO-RESULT mss_rules=$(nft list chain inet kairo mss_clamp | grep -c 'maxseg size set rt mtu')"
sh /etc/kairo/ds-lite/ip6tnl1.sh stop
echo "KAIRO-RESULT after_stop=$(ip route show default | head -1 | sed 's/ *$//' | tr ' ' _)"
`;

test('guest: the ipoe-ha-pair router brings up DS-Lite from its rendered files; a LAN client reaches IPv4 through the AFTR', { skip: guestTestSkip(), timeout: 150_000 }, async () => {
  const files = Object.fromEntries(
    ['/etc/kairo/nftables.nft', '/etc/kairo/sysctl.conf', '/etc/kairo/ds-lite/ip6tnl1.sh', '/etc/modules-load.d/kairo.conf'].filter((p) => beagle.artifacts.some((a) => a.path === p)).map((p) => [p, { content: file(p).content, mode: file(p).mode }]),
  );
  const rs = await runGuests([
    { name: 'beagle', script: B4, modules: ['ip6_tunnel', 'veth', 'nf_tables', 'nfnetlink_log'], nics: [{ id: 'enp3s0', link: 'access' }], files },
    { name: 'aftr', script: AFTR, after: AFTR_AFTER, serve: true, modules: ['ip6_tunnel', 'veth', 'nf_tables', 'nft_chain_nat', 'nft_masq'], nics: [{ id: 'b4side', link: 'access' }],
      files: { '/etc/kairo/nftables.nft': AFTR_NFT, '/etc/kairo/internet.nft': INTERNET_NFT } },
  ], 120_000);
  const report = guestReport(rs);
  const b = rs.find((r) => r.name === 'beagle')!.markers;
  const aftr = rs.find((r) => r.name === 'aftr')!.markers;
  assert.equal(b.sysctl, 'ok', report);
  assert.equal(b.nft, 'loaded', report);
  assert.equal(b.dslite, 'up', report);
  assert.equal(b.tunnel, 'ip6tnl ipip6', report);
  assert.equal(b.mtu, '1460', report);
  assert.equal(b.v4default, 'default_dev_ip6tnl1_scope_link', report);
  assert.equal(b.lan_ping, 'ok', report);
  assert.equal(b.lan_tcp, 'hello-from-internet', report);
  assert.equal(b.mss_rules, '2', report);
  assert.equal(b.after_stop, 'default_via_192.168.1.1_dev_enp3s0', `stop moves the IPv4 default route back\n${report}`);
  assert.ok(Number(aftr.internet_saw_public) >= 2, `the Internet host saw the AFTR's public address\n${report}`);
  assert.equal(aftr.internet_saw_private, '0', report);
});
