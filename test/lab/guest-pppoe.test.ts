// Seed 004 on a kernel that has PPP: the home-router example's router dials PPPoE with kairo's own
// rendered peer file (user and password from the site's secret), loads kairo's ruleset, and a LAN
// client's TCP connection goes out over ppp0, masqueraded to the PPP address, with its SYN's MSS
// clamped to ppp0's MTU (1492 - 40 = 1452). Skipped when QEMU or the boot files are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestReport, runGuests } from '../../src/lab/guest.js';
import { AC, AC_OPTIONS, guestTestSkip } from './guest-peers.js';
import { example } from './helpers.js';


const site = example('home-router');
const router = site.nodes[0];
const file = (p: string) => {
  const a = router.artifacts.find((x) => x.path === p)!;
  return { content: a.content, mode: a.mode };
};

// The AC knows the same credentials the example's secret file holds.
const SECRETS = { content: '"user@example.jp" * "example-only-password" *\n', mode: 0o600 };

const OBSERVE = `table inet observe {
  chain in {
    type filter hook input priority raw;
    ip saddr 10.64.0.2 tcp dport 8080 tcp flags syn tcp option maxseg size 1452 counter comment "mss1452"
    tcp dport 8080 tcp flags syn tcp option maxseg size 1460 counter comment "mss1460"
    ip saddr 10.0.0.0/24 counter comment "from-lan-private"
  }
}
`;

const AFTER = `c() { nft list chain inet observe in | sed -n "s/.*counter packets \\([0-9]*\\) .*$1.*/\\1/p"; }
echo "KAIRO-RESULT syn_mss1452=$(c mss1452)"
echo "KAIRO-RESULT syn_mss1460=$(c mss1460)"
echo "KAIRO-RESULT saw_lan_private=$(c from-lan-private)"
`;

// What networkd would do in the guest: enp1s0 (the carrier) up without addresses, enp2s0 a veth to
// a LAN client namespace with the site's LAN address. Then kairo's sysctl, ruleset and peer file.
const ROUTER = `set -u
ip link set enp1s0 up
ip netns add lan
ip link add enp2s0 type veth peer name eth0 netns lan
ip addr add 10.0.0.1/24 dev enp2s0
ip link set enp2s0 up
ip -n lan link set lo up
ip -n lan link set eth0 up
ip -n lan addr add 10.0.0.254/24 dev eth0
ip -n lan route add default via 10.0.0.1
sysctl -q -p /etc/kairo/sysctl.conf && echo "KAIRO-RESULT sysctl=ok"
nft -f /etc/kairo/nftables.nft && echo "KAIRO-RESULT nft=loaded"
if kairo-retry 40 pppoe -I enp1s0 -A -t 1 >/dev/null 2>&1; then echo "KAIRO-RESULT discovery=ok"; else echo "KAIRO-RESULT discovery=fail"; fi
# The unit runs 'pppd call kairo-wan nodetach'; here: detach once up, give up after one failure.
timeout 30 pppd call kairo-wan updetach maxfail 1 logfd 1
echo "KAIRO-RESULT pppd_rc=$?"
echo "KAIRO-RESULT ppp0=$(ip -4 -o addr show dev ppp0 2>/dev/null | sed -n 's/.*inet \\([0-9.]*\\) peer \\([0-9.]*\\).*/\\1-\\2/p')"
echo "KAIRO-RESULT ppp0_mtu=$(cat /sys/class/net/ppp0/mtu 2>/dev/null)"
echo "KAIRO-RESULT default=$(ip route show default | head -1 | sed 's/ *$//' | tr ' ' _)"
reply=$(kairo-retry 5 ip netns exec lan nc -w 3 10.64.0.1 8080 </dev/null)
echo "KAIRO-RESULT lan_tcp=\${reply:-none}"
echo "KAIRO-RESULT clamped=$(nft list chain inet kairo mss_clamp | sed -n 's/.*oifname "ppp0".*/x/p' | wc -l)"
`;

test('guest: the home-router dials PPPoE from its rendered peer file; LAN traffic leaves over ppp0, NATed and MSS-clamped', { skip: guestTestSkip(), timeout: 150_000 }, async () => {
  const rs = await runGuests([
    { name: 'router', script: ROUTER, modules: ['pppoe', 'veth', 'nf_tables', 'nfnetlink_log'], nics: [{ id: 'enp1s0', link: 'dsl' }],
      files: { '/etc/ppp/peers/kairo-wan': file('/etc/ppp/peers/kairo-wan'), '/etc/kairo/nftables.nft': file('/etc/kairo/nftables.nft'), '/etc/kairo/sysctl.conf': file('/etc/kairo/sysctl.conf'), '/etc/modules-load.d/kairo.conf': file('/etc/modules-load.d/kairo.conf') } },
    { name: 'ac', script: AC, after: AFTER, serve: true, modules: ['ppp_generic', 'ppp_async', 'nf_tables'], nics: [{ id: 'lan', link: 'dsl' }],
      files: { '/etc/ppp/pap-secrets': SECRETS, '/etc/ppp/pppoe-server-options': AC_OPTIONS, '/etc/kairo/observe.nft': OBSERVE } },
  ], 120_000);
  const report = guestReport(rs);
  const r = rs.find((x) => x.name === 'router')!.markers;
  const ac = rs.find((x) => x.name === 'ac')!.markers;
  assert.equal(r.sysctl, 'ok', report);
  assert.equal(r.nft, 'loaded', report);
  assert.equal(r.discovery, 'ok', report);
  assert.equal(r.pppd_rc, '0', report);
  assert.equal(r.ppp0, '10.64.0.2-10.64.0.1', report);
  assert.equal(r.ppp0_mtu, '1492', report);
  assert.equal(r.default, 'default_dev_ppp0_scope_link', `pppd's defaultroute\n${report}`);
  assert.equal(r.lan_tcp, 'hello-over-ppp', report);
  assert.equal(r.clamped, '1', report);
  assert.ok(Number(ac.syn_mss1452) >= 1, `the AC saw the LAN client's SYN from the PPP address with MSS 1452\n${report}`);
  assert.equal(ac.syn_mss1460, '0', `no SYN left unclamped\n${report}`);
  assert.equal(ac.saw_lan_private, '0', `masquerade: the AC never saw 10.0.0.0/24\n${report}`);
});
