// DS-Lite and PPPoE on a real host: Debian booted with systemd as PID 1 in a full-kernel guest
// (scripts/guest-image.sh: Debian's stock kernel under QEMU TCG, kairo installed from its npm
// tarball). In the guest, `kairo apply --target host` of the example, then `systemctl reboot` (a
// real reboot of the machine); after it, nothing of the test starts anything: the DS-Lite softwire
// and the PPP session must be up from kairo's enabled units, traffic from a LAN client must reach
// the peer guest through them (seen there), and no unit of kairo's may have failed.
//
// The LAN is real too: the router's LAN NIC is wired to a second NIC of the same guest, which the
// check moves into a namespace as the LAN client after the reboot (so networkd configures the LAN
// NIC at boot like any other). Skipped with the reason without QEMU, the guest boot files or the
// image (built first with KAIRO_GUEST_BUILD=1 or CI=true), never passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guestReport, runGuests, type GuestResult } from '../../src/lab/guest.js';
import { AC, AC_OPTIONS, AFTR_AFTER, AFTR_NFT, AFTR_RADVD, INTERNET_NFT, aftrScript, eui64, systemGuestTestSkip } from './guest-peers.js';
import { root as REPO } from './helpers.js';

const skip = systemGuestTestSkip();
const TIMEOUT = 420_000; // a bound; measured 75-125 s per test (two boots of the systemd guest), more under load

const read = (p: string) => readFileSync(join(REPO, p), 'utf8');
function timing(t: string, r: GuestResult, t0: number, peer: GuestResult): void {
  const b = r.boots.map((x) => `boot ${x.n}: agent at ${x.ms} ms (guest uptime ${x.uptime} s)`).join(', ');
  console.log(`guest timing: ${t}: ${Date.now() - t0} ms wall; ${b}; reboot round trip ${r.rebootMs ?? '-'} ms; apply ${r.markers.apply_ms ?? '-'} ms (guest clock)`);
  // What was seen, where: the record a reader of the CI log needs.
  const kv = (m: Record<string, string>) => Object.entries(m).map(([k, v]) => `${k}=${v}`).join('\n  ');
  console.log(`guest evidence: ${t}: ${r.name} after the reboot:\n  ${kv(r.markers)}\n${peer.name}:\n  ${kv(peer.markers)}`);
}
/** KAIRO_GUEST_LOG=DIR keeps every guest's console (the whole run) as DIR/NAME.log. */
function keepConsoles(rs: GuestResult[]): void {
  const dir = process.env.KAIRO_GUEST_LOG;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const r of rs) writeFileSync(join(dir, `${r.name}.log`), r.output);
}

// Shell helpers for both phases inside the systemd guest.
const HELPERS = `r() { echo "KAIRO-RESULT $1=$2"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
`;

/** Phase 1: kairo as a user runs it; the agent reboots when this exits 0. */
const applyPhase = (site: string, node?: string) => `${HELPERS}set -u
r kairo "$(command -v kairo) $(kairo --version)"
r node "$(node --version)"
r hostname "$(hostname)"
t=$(ms)
kairo apply ${site} --target host${node ? ` --node ${node}` : ''} > /root/apply.log 2>&1
rc=$?
r apply_ms $(( $(ms) - t ))
sed 's/^/apply: /' /root/apply.log
r apply_rc $rc
exit $rc
`;

/**
 * Phase 2 (after the reboot): waits, bounded, for systemd to finish the boot's jobs and reports
 * what it finds. Only observes: nothing here starts, enables or restarts a unit.
 */
const observePhase = (units: string[], rest: string) => `${HELPERS}set -u
i=0
while [ $i -lt 240 ]; do
  s=$(systemctl is-system-running)
  case $s in running|degraded) break ;; esac
  sleep 0.5; i=$((i + 1))
done
r system "$s"
r startup "$(systemd-analyze 2>/dev/null | head -1 | sed 's/ *$//')"
mono() { systemctl show -P "$1" "$2"; }
agent=$(mono ExecMainStartTimestampMonotonic kairo-guest-agent.service)
for u in ${units.join(' ')}; do
  r "enabled.$u" "$(systemctl is-enabled $u)"
  r "active.$u" "$(systemctl is-active $u)"
  r "result.$u" "$(mono Result $u)"
  # Started in this boot before the test harness (the agent) existed: by systemd, from its enablement.
  st=$(mono ExecMainStartTimestampMonotonic $u)
  if [ "$st" -gt 0 ] 2>/dev/null && [ "$st" -lt "$agent" ]; then r "before_agent.$u" yes; else r "before_agent.$u" "no ($st vs agent $agent)"; fi
done
r kairo_boot_before_networkd "$([ "$(mono ActiveEnterTimestampMonotonic kairo-boot.service)" -lt "$(mono ExecMainStartTimestampMonotonic systemd-networkd.service)" ] && echo yes || echo no)"
r tables "$(nft list tables | tr '\\n' , | sed 's/,$//')"
r forwarding "$(sysctl -n net.ipv4.ip_forward)"
${rest}
f=$(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\\n' , | sed 's/,$//')
r failed "\${f:-none}"
echo "--- journal of this boot (kairo units, warnings)"
journalctl -b --no-pager -o short-monotonic -u 'kairo-*' | tail -40
journalctl -b --no-pager -p warning | tail -20
`;

/** The LAN client: the guest's second NIC, wired to the router's LAN NIC, in its own namespace. */
const lanClient = (addr: string, gw: string) => `ip netns add lan
ip link set lanc netns lan
ip -n lan link set lo up
ip -n lan link set lanc up
ip -n lan addr add ${addr} dev lanc
ip -n lan route add default via ${gw}
`;

// --- DS-Lite -------------------------------------------------------------------------------------
// beagle (systemd) enp3s0 ==(link "access": RA 2001:db8:a::/64 from the AFTR)== aftr (busybox)
// beagle enp4s0 ==(link "lan")== beagle lanc (the LAN client, in netns lan)

const B4_MAC = '02:6b:67:00:00:03';
const B4_ADDR = eui64('2001:db8:a:0', B4_MAC);

const DSLITE_CHECK = `U=kairo-ds-lite-ip6tnl1.service
r unit_log "$(journalctl -b -u $U -o cat --no-pager | grep -o 'ds-lite: ip6tnl1 up.*' | head -1)"
r tunnel "$(ip -d link show ip6tnl1 2>/dev/null | grep -o 'ip6tnl ipip6 remote [0-9a-f:]* local [0-9a-f:]*' | head -1)"
r mtu "$(cat /sys/class/net/ip6tnl1/mtu 2>/dev/null)"
r v4default "$(ip route show default | head -1 | sed 's/ *$//' | tr ' ' _)"
r slaac "$(ip -6 -o addr show dev enp3s0 scope global | awk '{ print $4 }' | head -1)"
${lanClient('192.168.2.254/24', '192.168.2.2')}
i=0; ok=fail
while [ $i -lt 20 ]; do ip netns exec lan ping -c1 -W1 -q 203.0.113.200 >/dev/null 2>&1 && { ok=ok; break; }; i=$((i + 1)); done
r lan_ping $ok
i=0; reply=
while [ $i -lt 5 ] && [ -z "$reply" ]; do reply=$(ip netns exec lan busybox nc -w 3 203.0.113.200 8080 </dev/null 2>/dev/null); i=$((i + 1)); done
r lan_tcp "\${reply:-none}"
r tunnel_tx "$(cat /sys/class/net/ip6tnl1/statistics/tx_packets 2>/dev/null)"
`;

test('guest (systemd): after kairo apply and a reboot, the DS-Lite softwire is up from its enabled unit; a LAN client reaches the IPv4 Internet through the AFTR', { skip, timeout: TIMEOUT + 30_000 }, async () => {
  const t0 = Date.now();
  // The example as written points at transix; here the AFTR is the peer guest.
  const site = read('examples/ipoe-ha-pair.yaml').replace('aftr: transix-east', 'aftr: "2001:db8:a::1"');
  const rs = await runGuests([
    {
      name: 'beagle', systemd: { afterReboot: observePhase(['kairo-boot.service', 'kairo-ds-lite-ip6tnl1.service'], DSLITE_CHECK) },
      script: applyPhase('/root/site/ipoe-ha-pair.yaml', 'beagle'),
      nics: [{ id: 'enp3s0', link: 'access', mac: B4_MAC }, { id: 'enp4s0', link: 'lan' }, { id: 'lanc', link: 'lan' }],
      files: { '/root/site/ipoe-ha-pair.yaml': site },
    },
    {
      name: 'aftr', script: aftrScript({ b4: B4_ADDR, ra: true }), after: AFTR_AFTER, serve: true,
      modules: ['ip6_tunnel', 'veth', 'nf_tables', 'nft_chain_nat', 'nft_masq'], nics: [{ id: 'b4side', link: 'access' }],
      files: { '/etc/kairo/nftables.nft': AFTR_NFT, '/etc/kairo/internet.nft': INTERNET_NFT, '/etc/kairo/radvd.conf': AFTR_RADVD },
    },
  ], TIMEOUT);
  keepConsoles(rs);
  const report = guestReport(rs);
  const g = rs.find((r) => r.name === 'beagle')!;
  const b = g.markers;
  const aftr = rs.find((r) => r.name === 'aftr')!.markers;
  timing('DS-Lite', g, t0, rs.find((r) => r.name === 'aftr')!);
  assert.equal(b.apply_rc, '0', `kairo apply --target host\n${report}`);
  assert.ok(g.ok, `both boots and the checks ran (rebooted by systemctl reboot)\n${report}`);
  assert.equal(b.system, 'running', report);
  for (const u of ['kairo-boot.service', 'kairo-ds-lite-ip6tnl1.service']) {
    assert.equal(b[`enabled.${u}`], 'enabled', `${u}\n${report}`);
    assert.equal(b[`active.${u}`], 'active', `${u}\n${report}`);
    assert.equal(b[`result.${u}`], 'success', `${u}\n${report}`);
    assert.equal(b[`before_agent.${u}`], 'yes', `${u} started at boot, before the test harness\n${report}`);
  }
  assert.equal(b.kairo_boot_before_networkd, 'yes', `the firewall before the network\n${report}`);
  assert.match(b.tables, /inet kairo/, report);
  assert.equal(b.forwarding, '1', report);
  assert.equal(b.slaac, `${B4_ADDR}/64`, `SLAAC from the AFTR's router advertisements\n${report}`);
  assert.equal(b.unit_log, `ds-lite: ip6tnl1 up, ${B4_ADDR} -> 2001:db8:a::1, IPv4 default route moved onto it`, report);
  assert.equal(b.tunnel, `ip6tnl ipip6 remote 2001:db8:a::1 local ${B4_ADDR}`, report);
  assert.equal(b.mtu, '1460', report);
  assert.equal(b.v4default, 'default_dev_ip6tnl1_scope_link', report);
  assert.equal(b.lan_ping, 'ok', report);
  assert.equal(b.lan_tcp, 'hello-from-internet', report);
  assert.ok(Number(b.tunnel_tx) >= 2, `packets left through the softwire\n${report}`);
  assert.ok(Number(aftr.internet_saw_public) >= 2, `the Internet host saw the AFTR's public address\n${report}`);
  assert.equal(aftr.internet_saw_private, '0', report);
  assert.equal(b.failed, 'none', `systemctl --failed\n${report}`);
});

// --- PPPoE ---------------------------------------------------------------------------------------
// router (systemd) enp1s0 ==(link "dsl")== ac (busybox pppoe-server)
// router enp2s0 ==(link "lan")== router lanc (the LAN client, in netns lan)

const SECRETS = { content: '"user@example.jp" * "example-only-password" *\n', mode: 0o600 };
const OBSERVE = `table inet observe {
  chain in {
    type filter hook input priority raw;
    ip saddr 10.64.0.0/24 tcp dport 8080 tcp flags syn tcp option maxseg size 1452 counter comment "mss1452"
    tcp dport 8080 tcp flags syn tcp option maxseg size 1460 counter comment "mss1460"
    ip saddr 10.0.0.0/24 counter comment "from-lan-private"
  }
}
`;
const AC_AFTER = `c() { nft list chain inet observe in | sed -n "s/.*counter packets \\([0-9]*\\) .*$1.*/\\1/p"; }
echo "KAIRO-RESULT syn_mss1452=$(c mss1452)"
echo "KAIRO-RESULT syn_mss1460=$(c mss1460)"
echo "KAIRO-RESULT saw_lan_private=$(c from-lan-private)"
`;

const PPPOE_CHECK = `U=kairo-pppoe-wan.service
# The session is pppd's business (started by systemd before this ran); wait for it, bounded.
i=0
while [ $i -lt 120 ] && ! ip -4 -o addr show dev ppp0 2>/dev/null | grep -q peer; do sleep 0.5; i=$((i + 1)); done
r ppp0 "$(ip -4 -o addr show dev ppp0 2>/dev/null | sed -n 's/.*inet \\([0-9.]*\\) peer \\([0-9.]*\\).*/\\1-\\2/p')"
r ppp0_mtu "$(cat /sys/class/net/ppp0/mtu 2>/dev/null)"
pid=$(systemctl show -P MainPID $U)
r pppd_parent "$([ "$pid" -gt 0 ] && ps -o comm= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')")"
r unit_log "$(journalctl -b -u $U -o cat --no-pager | grep -o 'local  IP address [0-9.]*' | head -1)"
r default "$(ip route show default | head -1 | sed 's/ *$//' | tr ' ' _)"
${lanClient('10.0.0.254/24', '10.0.0.1')}
i=0; reply=
while [ $i -lt 5 ] && [ -z "$reply" ]; do reply=$(ip netns exec lan busybox nc -w 3 10.64.0.1 8080 </dev/null 2>/dev/null); i=$((i + 1)); done
r lan_tcp "\${reply:-none}"
r ppp_tx "$(cat /sys/class/net/ppp0/statistics/tx_packets 2>/dev/null)"
`;

test('guest (systemd): after kairo apply and a reboot, the PPPoE session is up from its enabled unit; LAN traffic leaves over ppp0, NATed and MSS-clamped', { skip, timeout: TIMEOUT + 30_000 }, async () => {
  const t0 = Date.now();
  const rs = await runGuests([
    {
      name: 'router', systemd: { afterReboot: observePhase(['kairo-boot.service', 'kairo-pppoe-wan.service'], PPPOE_CHECK) },
      script: applyPhase('/root/site/home-router.yaml'),
      nics: [{ id: 'enp1s0', link: 'dsl' }, { id: 'enp2s0', link: 'lan' }, { id: 'lanc', link: 'lan' }],
      files: {
        '/root/site/home-router.yaml': read('examples/home-router.yaml'),
        '/root/site/home-router.pppoe-password': { content: read('examples/home-router.pppoe-password'), mode: 0o600 },
        '/root/site/home-router.blocklist': read('examples/home-router.blocklist'),
      },
    },
    {
      name: 'ac', script: AC, after: AC_AFTER, serve: true, modules: ['ppp_generic', 'ppp_async', 'nf_tables'], nics: [{ id: 'lan', link: 'dsl' }],
      files: { '/etc/ppp/pap-secrets': SECRETS, '/etc/ppp/pppoe-server-options': AC_OPTIONS, '/etc/kairo/observe.nft': OBSERVE },
    },
  ], TIMEOUT);
  keepConsoles(rs);
  const report = guestReport(rs);
  const g = rs.find((r) => r.name === 'router')!;
  const m = g.markers;
  const ac = rs.find((r) => r.name === 'ac')!.markers;
  timing('PPPoE', g, t0, rs.find((r) => r.name === 'ac')!);
  assert.equal(m.apply_rc, '0', `kairo apply --target host\n${report}`);
  assert.ok(g.ok, `both boots and the checks ran (rebooted by systemctl reboot)\n${report}`);
  assert.equal(m.system, 'running', report);
  for (const u of ['kairo-boot.service', 'kairo-pppoe-wan.service']) {
    assert.equal(m[`enabled.${u}`], 'enabled', `${u}\n${report}`);
    assert.equal(m[`active.${u}`], 'active', `${u}\n${report}`);
    assert.equal(m[`before_agent.${u}`], 'yes', `${u} started at boot, before the test harness\n${report}`);
  }
  assert.equal(m.kairo_boot_before_networkd, 'yes', `the firewall before the network\n${report}`);
  assert.match(m.tables, /inet kairo/, report);
  assert.equal(m.pppd_parent, 'systemd', `pppd is the unit's process, a child of PID 1\n${report}`);
  assert.match(m.ppp0, /^10\.64\.0\.\d+-10\.64\.0\.1$/, `the session's addresses (IPCP)\n${report}`);
  assert.equal(m.unit_log, `local  IP address ${m.ppp0.split('-')[0]}`, `pppd of the unit logged the session\n${report}`);
  assert.equal(m.ppp0_mtu, '1492', report);
  assert.equal(m.default, 'default_dev_ppp0_scope_link', `pppd's defaultroute\n${report}`);
  assert.equal(m.lan_tcp, 'hello-over-ppp', report);
  assert.ok(Number(ac.syn_mss1452) >= 1, `the AC saw the LAN client's SYN from the PPP address with MSS 1452\n${report}`);
  assert.equal(ac.syn_mss1460, '0', `no SYN left unclamped\n${report}`);
  assert.equal(ac.saw_lan_private, '0', `masquerade: the AC never saw 10.0.0.0/24\n${report}`);
  assert.equal(m.failed, 'none', `systemctl --failed\n${report}`);
});
