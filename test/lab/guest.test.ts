// Full-kernel guests (Debian's kernel under QEMU TCG) prove what the host kernel cannot:
// DS-Lite (ipip6 B4 → AFTR with NAT44) and PPPoE (PAP, ppp0, MSS clamping with nftables).
// Skipped when QEMU or the boot files are missing; with KAIRO_GUEST_BUILD=1 or CI=true the boot
// files are built first (scripts/guest-kernel.sh, about a minute from scratch, cached after).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGuestKernel, guestReport, guestsAvailable, newcArchive, runGuests, type GuestResult } from '../../src/lab/guest.js';
import { isRoot, run } from '../../src/lib/exec.js';
import { AC, AC_OPTIONS, AFTR, AFTR_AFTER, AFTR_NFT, INTERNET_NFT, guestTestSkip } from './guest-peers.js';


const skip = guestTestSkip();
const TIMEOUT = 75_000; // a bound, not the expected time (20-25 s per test); TCG speed varies with the host's load

const byName = (rs: GuestResult[], name: string) => rs.find((r) => r.name === name)!;
const qemuLeft = () => run('ps', ['-eo', 'pid,args']).stdout.split('\n').filter((l) => /qemu-system-x86_64 .*kairo-guest-/.test(l));
function timing(t: string, rs: GuestResult[], t0: number): void {
  const each = rs.map((r) => `${r.name} boot ${r.bootMs ?? '-'} ms, ran ${r.ms} ms`).join('; ');
  console.log(`guest timing: ${t}: ${Date.now() - t0} ms wall (${each})`);
}

// --- without QEMU ---------------------------------------------------------------------------------

test('guest: the per-guest overlay is a newc archive the kernel can unpack', () => {
  const a = newcArchive([{ path: '/etc/kairo/x.nft', content: 'table inet t {}\n', mode: 0o644 }, { path: '/test.sh', content: 'echo hi\n', mode: 0o755 }]);
  const names: string[] = [];
  let off = 0;
  for (;;) {
    assert.equal(off % 4, 0, 'entries start 4-byte aligned');
    assert.equal(a.subarray(off, off + 6).toString(), '070701');
    const field = (i: number) => parseInt(a.subarray(off + 6 + i * 8, off + 14 + i * 8).toString(), 16);
    const [mode, size, nameLen] = [field(1), field(6), field(11)];
    const name = a.subarray(off + 110, off + 110 + nameLen - 1).toString();
    names.push(`${name}:${(mode & 0o170000) === 0o040000 ? 'dir' : (mode & 0o777).toString(8)}`);
    off = Math.ceil((off + 110 + nameLen) / 4) * 4;
    if (name === 'TRAILER!!!') break;
    if (name === 'test.sh') assert.equal(a.subarray(off, off + size).toString(), 'echo hi\n');
    off = Math.ceil((off + size) / 4) * 4;
  }
  assert.deepEqual(names, ['etc:dir', 'etc/kairo:dir', 'etc/kairo/x.nft:644', 'test.sh:755', 'TRAILER!!!:0']);
});

test('guest: a link joins exactly two NICs, names are checked before anything boots', async () => {
  await assert.rejects(runGuests([{ name: 'a', script: '', nics: [{ id: 'eth0', link: 'x' }] }], 1000), /link x has 1 end/);
  await assert.rejects(runGuests([{ name: 'a', script: '', nics: [{ id: 'this-name-is-too-long', link: 'x' }, { id: 'b', link: 'x' }] }], 1000), /bad NIC name/);
  await assert.rejects(runGuests([{ name: 'a', script: '', nics: [] }, { name: 'a', script: '', nics: [] }], 1000), /duplicate name a/);
});

// --- DS-Lite -------------------------------------------------------------------------------------
// b4 ==(link "access", IPv6 2001:db8:a::/64)== aftr --veth-- [netns "inet": 203.0.113.200 on lo]
// The AFTR decapsulates and masquerades 192.0.0.2 to its public 198.51.100.1; the internet host
// counts packets by source address, so the NAT is observed where it matters.

const B4_NFT = `flush ruleset
table inet b4 {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ip6 saddr 2001:db8:a::1 meta l4proto 4 counter accept comment "ipip from the AFTR"
    iifname "dslite" ct state established,related accept
    icmpv6 type { echo-reply, nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept
  }
}
`;

const B4 = `set -u
ip -6 addr add 2001:db8:a::2/64 dev wan nodad
nft -f /etc/kairo/nftables.nft || { echo "KAIRO-RESULT b4_nft=rejected"; exit 1; }
echo "KAIRO-RESULT b4_nft=loaded"
ip -6 tunnel add dslite mode ipip6 local 2001:db8:a::2 remote 2001:db8:a::1 encaplimit none
ip link set dslite mtu 1460 up
ip addr add 192.0.0.2/29 dev dslite
ip route add default dev dslite
echo "KAIRO-RESULT tunnel=$(ip -d link show dslite | grep -o 'ip6tnl ipip6' | head -1)"
echo "KAIRO-RESULT tunnel_mtu=$(cat /sys/class/net/dslite/mtu)"
kairo-retry 60 ping -c1 -W1 -q 2001:db8:a::1 >/dev/null && echo "KAIRO-RESULT aftr6=reachable"
# The AFTR may still be setting up its side: retry until the first IPv4 reply.
if kairo-retry 30 ping -c1 -W1 -q 203.0.113.200 >/dev/null && ping -c3 -i 0.2 -W2 -q 203.0.113.200 >/dev/null; then echo "KAIRO-RESULT ping4=ok"; else echo "KAIRO-RESULT ping4=fail"; fi
reply=$(kairo-retry 5 nc -w 3 203.0.113.200 8080 </dev/null)
echo "KAIRO-RESULT tcp=\${reply:-none}"
echo "KAIRO-RESULT ipip_accepted=$(nft list chain inet b4 input | sed -n 's/.*counter packets \\([0-9]*\\) .*ipip from the AFTR.*/\\1/p')"
# Without the ipip rule the decapsulated replies never arrive: the policy drops the outer packets.
h=$(nft -a list chain inet b4 input | sed -n 's/.*ipip from the AFTR.* # handle \\([0-9]*\\)$/\\1/p')
nft delete rule inet b4 input handle "$h"
if ping -c1 -W1 -q 203.0.113.200 >/dev/null; then echo "KAIRO-RESULT without_ipip_rule=passes"; else echo "KAIRO-RESULT without_ipip_rule=blocked"; fi
nft -f /etc/kairo/nftables.nft
if ping -c1 -W2 -q 203.0.113.200 >/dev/null; then echo "KAIRO-RESULT rule_restored=ok"; else echo "KAIRO-RESULT rule_restored=fail"; fi
`;

test('guest: DS-Lite B4 → AFTR (ipip6, NAT44) on the full kernel', { skip, timeout: 120_000 }, async () => {
  const t0 = Date.now();
  const rs = await runGuests([
    { name: 'b4', script: B4, modules: ['ip6_tunnel', 'nf_tables', 'nft_ct'], nics: [{ id: 'wan', link: 'access' }], files: { '/etc/kairo/nftables.nft': B4_NFT } },
    { name: 'aftr', script: AFTR, after: AFTR_AFTER, serve: true, modules: ['ip6_tunnel', 'veth', 'nf_tables', 'nft_chain_nat', 'nft_masq'], nics: [{ id: 'b4side', link: 'access' }],
      files: { '/etc/kairo/nftables.nft': AFTR_NFT, '/etc/kairo/internet.nft': INTERNET_NFT } },
  ], TIMEOUT);
  timing('DS-Lite', rs, t0);
  const b4 = byName(rs, 'b4').markers;
  const aftr = byName(rs, 'aftr').markers;
  const report = guestReport(rs);
  assert.ok(rs.every((r) => r.ok), report);
  assert.equal(aftr.aftr, 'ready', report);
  assert.equal(b4.b4_nft, 'loaded', report);
  assert.equal(b4.tunnel, 'ip6tnl ipip6', report);
  assert.equal(b4.tunnel_mtu, '1460', report);
  assert.equal(b4.aftr6, 'reachable', report);
  assert.equal(b4.ping4, 'ok', report);
  assert.equal(b4.tcp, 'hello-from-internet', report);
  assert.ok(Number(b4.ipip_accepted) >= 4, `the ipip accept rule counted the AFTR's packets\n${report}`);
  assert.equal(b4.without_ipip_rule, 'blocked', report);
  assert.equal(b4.rule_restored, 'ok', report);
  assert.ok(Number(aftr.internet_saw_public) >= 4, `the internet host saw the AFTR's public address\n${report}`);
  assert.equal(aftr.internet_saw_private, '0', `the internet host never saw B4's private address\n${report}`);
  assert.ok(Number(aftr.masquerade_packets) >= 2, report);
  assert.deepEqual(qemuLeft(), []);
});

// --- PPPoE ---------------------------------------------------------------------------------------
// client ==(link "dsl")== ac. The AC runs pppoe-server (user-space: pppd over a pty, ppp_async);
// the client dials with pppd's rp-pppoe.so plugin (kernel pppoe). PAP. On ppp0 the client clamps
// the MSS to the route MTU; a route with mtu 1400 and advmss 1460 makes the clamp visible: the
// AC must see SYNs with MSS 1360, never 1460.

const SECRETS = { content: '"kairo" * "s3cret" *\n', mode: 0o600 };

const CLIENT_NFT = `flush ruleset
table inet mss {
  chain forward {
    type filter hook forward priority mangle;
    oifname "ppp0" tcp flags syn tcp option maxseg size set rt mtu counter comment "mss clamp"
  }
  chain output {
    type filter hook output priority mangle;
    oifname "ppp0" tcp flags syn tcp option maxseg size set rt mtu counter comment "mss clamp (local)"
  }
}
`;

const CLIENT = `set -u
# Wait for the AC's offer, then dial.
if kairo-retry 40 pppoe -I wan -A -t 1 >/dev/null 2>&1; then echo "KAIRO-RESULT discovery=ok"; else echo "KAIRO-RESULT discovery=fail"; fi
timeout 25 pppd plugin rp-pppoe.so nic-wan user kairo noauth noipdefault defaultroute hide-password \\
  mtu 1492 mru 1492 lcp-echo-interval 5 lcp-echo-failure 3 maxfail 1 updetach logfd 1 unit 0
echo "KAIRO-RESULT pppd_rc=$?"
echo "KAIRO-RESULT ppp0=$(ip -4 -o addr show dev ppp0 2>/dev/null | sed -n 's/.*inet \\([0-9.]*\\) peer \\([0-9.]*\\).*/\\1-\\2/p')"
echo "KAIRO-RESULT ppp0_mtu=$(cat /sys/class/net/ppp0/mtu 2>/dev/null)"
if ping -c3 -i 0.2 -W2 -q -I ppp0 10.64.0.1 >/dev/null; then echo "KAIRO-RESULT ping=ok"; else echo "KAIRO-RESULT ping=fail"; fi
if nft -f /etc/kairo/nftables.nft; then echo "KAIRO-RESULT mss_rule=loaded"; else echo "KAIRO-RESULT mss_rule=rejected"; fi
echo "KAIRO-RESULT mss_rule_listed=$(nft list chain inet mss forward | grep -c 'tcp option maxseg size set rt mtu')"
ip route replace 10.64.0.1 dev ppp0 mtu 1400 advmss 1460
reply=$(kairo-retry 5 nc -w 3 10.64.0.1 8080 </dev/null)
echo "KAIRO-RESULT tcp=\${reply:-none}"
echo "KAIRO-RESULT clamped_syns=$(nft list chain inet mss output | sed -n 's/.*counter packets \\([0-9]*\\) .*/\\1/p')"
`;

const AC_OBSERVE = `table inet observe {
  chain in {
    type filter hook input priority raw;
    tcp dport 8080 tcp flags syn tcp option maxseg size 1360 counter comment "mss1360"
    tcp dport 8080 tcp flags syn tcp option maxseg size 1460 counter comment "mss1460"
  }
}
`;

const AC_AFTER = `c() { nft list chain inet observe in | sed -n "s/.*counter packets \\([0-9]*\\) .*$1.*/\\1/p"; }
echo "KAIRO-RESULT syn_mss1360=$(c mss1360)"
echo "KAIRO-RESULT syn_mss1460=$(c mss1460)"
echo "KAIRO-RESULT ac_ppp=$(ip -4 -o addr show type ppp 2>/dev/null | sed -n 's/.*inet \\([0-9.]*\\) peer \\([0-9.]*\\).*/\\1-\\2/p' | head -1)"
echo "KAIRO-RESULT ppp_async=$(grep -c '^ppp_async ' /proc/modules)"
`;

test('guest: PPPoE client ↔ access concentrator (PAP, ppp0, MSS clamp) on the full kernel', { skip, timeout: 120_000 }, async () => {
  const t0 = Date.now();
  const rs = await runGuests([
    { name: 'client', script: CLIENT, modules: ['pppoe', 'nf_tables'], nics: [{ id: 'wan', link: 'dsl' }], files: { '/etc/ppp/pap-secrets': SECRETS, '/etc/kairo/nftables.nft': CLIENT_NFT } },
    { name: 'ac', script: AC, after: AC_AFTER, serve: true, modules: ['ppp_generic', 'ppp_async', 'nf_tables'], nics: [{ id: 'lan', link: 'dsl' }],
      files: { '/etc/ppp/pap-secrets': SECRETS, '/etc/ppp/pppoe-server-options': AC_OPTIONS, '/etc/kairo/observe.nft': AC_OBSERVE } },
  ], TIMEOUT);
  timing('PPPoE', rs, t0);
  const c = byName(rs, 'client').markers;
  const ac = byName(rs, 'ac').markers;
  const report = guestReport(rs);
  assert.ok(rs.every((r) => r.ok), report);
  assert.equal(ac.ac, 'ready', report);
  assert.equal(c.discovery, 'ok', report);
  assert.equal(c.pppd_rc, '0', report);
  assert.equal(c.ppp0, '10.64.0.2-10.64.0.1', report);
  assert.equal(ac.ac_ppp, '10.64.0.1-10.64.0.2', report);
  assert.equal(c.ppp0_mtu, '1492', report);
  assert.equal(c.ping, 'ok', report);
  assert.equal(c.mss_rule, 'loaded', report);
  assert.equal(c.mss_rule_listed, '1', report);
  assert.equal(c.tcp, 'hello-over-ppp', report);
  assert.ok(Number(c.clamped_syns) >= 1, report);
  assert.ok(Number(ac.syn_mss1360) >= 1, `the AC saw the clamped MSS (1400 - 40)\n${report}`);
  assert.equal(ac.syn_mss1460, '0', `no SYN left unclamped\n${report}`);
  assert.deepEqual(qemuLeft(), []);
});
