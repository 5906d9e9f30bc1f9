// DHCPv6 prefix delegation (issue 5): Kea on the ISP side delegates a /56 to the router's own
// systemd-networkd (its rendered [DHCPv6] and [DHCPPrefixDelegation] sections), the LAN is numbered
// from it (subnet id 1) and reaches the IPv6 Internet without NAT, and a ULA link goes out through
// NPTv6 to subnet 2 of the same delegation. When the ISP renumbers, both follow within seconds:
// the anti-spoofing set (the new prefix passes, the old one is dropped at the router, its counter
// shows it) and the NPTv6 rules (the Internet sees the new /64, host bits kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { renumber } from '../../src/lab/pd.js';
import { stateDir, AGENT } from '../../src/lab/run.js';
import { have, must, run } from '../../src/lib/exec.js';
import ipaddr from 'ipaddr.js';
import { labSkip } from './helpers.js';

const skip = labSkip() || (!have('kea-dhcp6') ? 'skipped: kea-dhcp6 is not installed (scripts/setup.sh installs it)' : false);

const SITE = `version: 1
name: pdhome
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1, ipv6: dhcp, prefix-delegation: { length: 56 } }
  lan: { device: lan0, zone: lan, ipv4: 10.0.0.1/24, ipv6-from: { uplink: wan, subnet: 1 } }
  ct: { device: ct0, zone: lan, ipv4: 10.0.1.1/24, ipv6: fd00:1::1/64 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
    - { from: wan, to: router, action: drop }
    - { from: wan, to: lan, action: drop }
nat:
  masquerade: [{ out: wan, source: [10.0.0.0/24, 10.0.1.0/24] }]
  npt: [{ out: wan, inside: fd00:1::/64, outside: { delegated: wan, subnet: 2 } }]
lab:
  checks:
    - { name: LAN reaches the IPv6 Internet from the delegated prefix, from: lan, family: ipv6, to: internet:443/tcp, expect: allow }
    - { name: the ULA link reaches it through NPTv6 to subnet 2, from: ct, family: ipv6, to: internet:443/tcp, expect: allow }
`;

/**
 * What NPTv6 to /64 `outside` makes of the ct client's addresses (host bits kept). The client has
 * the lab's fd00:1::100 and, since the router announces fd00:1::/64 (ra, on by default), a SLAAC
 * address: the kernel may pick either as the source.
 */
function translated(ns: string, outside: string): string[] {
  const net = ipaddr.IPv6.parse(outside.split('/')[0]).parts.slice(0, 4);
  return [...must('ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { netns: ns }).matchAll(/inet6 (fd00:1:[0-9a-f:]+)\//g)]
    .map((m) => new ipaddr.IPv6([...net, ...ipaddr.IPv6.parse(m[1]).parts.slice(4)]).toString());
}
const sawOneOf = (observed: string, want: string[]) => want.some((a) => observed.includes(`saw ${a}`));

const setOf = (ns: string) => /elements = \{ ([^}]*) \}/.exec(must('nft', ['list', 'set', 'inet', 'kairo', 'pd_lan'], { netns: ns }))?.[1]?.trim();
const spoofDrops = (ns: string) => Number(/saddr != @pd_lan counter packets (\d+)/.exec(must('nft', ['list', 'chain', 'inet', 'kairo', 'from_lan'], { netns: ns }))?.[1]);

test('lab: DHCPv6-PD numbers the LAN; after a renumbering the firewall follows the new prefix', { skip }, () => {
  const r = compileSite(SITE, 'pd.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const { plan } = upLab(r, () => {});
  try {
    const router = plan.routers[0].ns;
    const client = plan.hosts.find((h) => h.pdLink)!;
    const first = client.owns.find((a) => a.includes(':'))!;
    assert.match(first, /^2001:db8:200:1::100$/, 'the client is numbered from the delegated /56, subnet 1');
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
    assert.match(t.results[0].observed, /saw 2001:db8:200:1::100/, 'routed, not NATed');
    const ct = plan.hosts.find((h) => h.link.segment === 'ct')!.ns;
    assert.ok(sawOneOf(t.results[1].observed, translated(ct, '2001:db8:200:2::/64')), `NPTv6: subnet 2 of the delegation, host bits kept: ${t.results[1].observed} (want one of ${translated(ct, '2001:db8:200:2::/64').join(', ')})`);
    assert.equal(setOf(router), '2001:db8:200:1::/64');

    const t0 = Date.now();
    const [next] = renumber(plan, stateDir(plan.prefix));
    assert.equal(next, '2001:db8:300:1::/64');
    while (setOf(router) !== next && Date.now() - t0 < 15_000) run('sleep', ['0.2']);
    const followed = Date.now() - t0;
    assert.equal(setOf(router), next, 'the set follows the new prefix');
    assert.ok(followed < 10_000, `followed in ${followed} ms`);
    console.log(`pd: renumbered and followed by the firewall in ${followed} ms`);

    const again = testLab(r, plan);
    assert.equal(again.failed, 0, again.table);
    assert.match(again.results[0].observed, /saw 2001:db8:300:1::100/);
    assert.ok(sawOneOf(again.results[1].observed, translated(ct, '2001:db8:300:2::/64')), `the NPTv6 rules followed the new prefix: ${again.results[1].observed}`);
    // The old prefix is now a spoofed source: the router drops it on the way out.
    must('ip', ['-n', client.ns, 'addr', 'add', `${first}/64`, 'dev', client.link.dev, 'nodad']);
    const before = spoofDrops(router);
    const probe = JSON.parse(must(process.execPath, [AGENT, 'probe', 'tcp', plan.isp!.internet6, '443', '800', first], { netns: client.ns }).trim());
    assert.notEqual(probe.outcome, 'answer');
    assert.ok(spoofDrops(router) > before, 'dropped by the anti-spoofing rule');
  } finally {
    labDown(plan.prefix);
  }
});
