// The lab's routers run Debian's systemd-networkd on the rendered files, and apply on a lab target
// goes through it as on a host (networkctl reload). What networkd does differently from the ip
// commands the lab used to run, checked on the kernel: the uplink's DHCPv4 lease is networkd's own
// client's (route `proto dhcp`), static routes are `proto static`, accept_ra is 0 (networkd's own
// RA client) and duplicate address detection ran on the router's links. A bridge
// whose interface the site drops really goes on apply (networkd alone would leave it, down), and
// comes back on rollback with the same MAC address (networkd derives it from the machine-id); the
// remaining links keep carrying traffic throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { stateDir } from '../../src/lab/run.js';
import { NetnsTarget } from '../../src/targets/index.js';
import { networkctlOf, networkdPidIn, waitLinks } from '../../src/targets/networkd.js';
import { apply, rollback } from '../../src/apply/transaction.js';
import { must, run } from '../../src/lib/exec.js';
import { labSkip, namespacesWith } from './helpers.js';

const skip = labSkip();

const SITE = `version: 1
name: ndapply
interfaces:
  wan: { device: wan0, zone: wan, ipv4: dhcp, ipv6: 2001:db8:1::2/64, gateway6: 2001:db8:1::1 }
  lan: { device: br0, zone: lan, bridge: [], ipv4: 10.0.0.1/24, ipv6: 2001:db8:2::1/64 }
  dmz: { device: br1, zone: dmz, bridge: [], ipv4: 10.0.1.1/24 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
    - { from: dmz, to: wan, action: accept }
    - { from: wan, to: router, action: drop }
nat:
  masquerade: [{ out: wan, source: [10.0.0.0/24, 10.0.1.0/24] }]
lab:
  checks:
    - { name: lan reaches the internet (NAT44), from: lan, to: internet:443/tcp, expect: allow, seen-as: wan }
    - { name: lan reaches the internet over IPv6 (routed), from: lan, family: ipv6, to: internet:443/tcp, expect: allow }
    - { name: dmz reaches the internet (NAT44), from: dmz, to: internet:443/tcp, expect: allow, seen-as: wan }
`;
const withoutDmz = SITE.replace(/ {2}dmz: .*\n/, '').replace('    - { from: dmz, to: wan, action: accept }\n', '').replace(', 10.0.1.0/24', '').replace(/ {4}- \{ name: dmz .*\n/, '');

function compile(text: string) {
  const r = compileSite(text, 'ndapply.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return r;
}

test('lab: routers run real networkd; a dropped bridge really goes on apply and comes back on rollback', { skip, timeout: 120_000 }, () => {
  const base = compile(SITE);
  const smaller = compile(withoutDmz);
  const t0 = Date.now();
  const { plan } = upLab(base, () => {});
  let pid: number | undefined;
  try {
    console.log(`networkd lab: up in ${Date.now() - t0} ms`);
    const ns = plan.routers[0].ns;
    const ip = (...args: string[]) => must('ip', ['-n', ns, ...args]);
    pid = networkdPidIn(ns);
    assert.ok(pid, 'systemd-networkd runs in the router namespace');
    const ctl = networkctlOf(pid);
    assert.match(ctl(['status', 'br0']).stdout, /Network File: \/etc\/systemd\/network\/50-kairo-br0\.network/);

    // networkd's ways, as a host has them.
    const def4 = JSON.parse(ip('-j', 'route', 'show', 'default'))[0];
    assert.equal(def4.gateway, plan.isp!.dhcp4!.router);
    assert.equal(def4.protocol, 'dhcp', 'the DHCPv4 lease is networkd\'s own client\'s');
    assert.match(ip('-4', 'addr', 'show', 'dev', 'wan0'), /scope global dynamic/);
    const def6 = JSON.parse(ip('-6', '-j', 'route', 'show', 'default'))[0];
    assert.equal(def6.gateway, '2001:db8:1::1');
    assert.equal(def6.protocol, 'static', 'networkd installs its static routes proto static');
    assert.equal(must('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/wan0/accept_ra']).trim(), '0', 'the kernel RA client is off: networkd runs its own');
    assert.equal(must('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/wan0/accept_dad']).trim(), '1', 'duplicate address detection is on');
    assert.match(ip('-6', 'addr', 'show', 'dev', 'wan0'), /inet6 2001:db8:1::2\/64 scope global \n/, 'the address passed DAD (not tentative)');
    assert.equal(ip('-6', 'addr', 'show', 'dev', 'br1').trim(), '', 'an IPv4-only link has no IPv6 at all (LinkLocalAddressing=no)');

    const first = testLab(base, plan);
    assert.equal(first.failed, 0, first.table);

    const target = new NetnsTarget(ns, join(stateDir(plan.prefix), plan.routers[0].node));
    const meta = { site: 'ndapply', node: 'router' };
    const mac = () => JSON.parse(ip('-j', 'link', 'show', 'br1'))[0].address as string;
    const mac1 = mac();
    apply(target, base.nodes[0].artifacts, meta);
    apply(target, smaller.nodes[0].artifacts, meta);
    assert.notEqual(run('ip', ['-n', ns, 'link', 'show', 'br1']).code, 0, 'the bridge of the dropped interface is gone');
    assert.equal(run('ip', ['-n', ns, '-4', 'addr', 'show']).stdout.includes('10.0.1.1'), false);
    const after = testLab(smaller, plan);
    assert.equal(after.failed, 0, after.table);

    rollback(target, undefined);
    waitLinks(ctl, ['br0', 'br1', 'wan0'], { timeoutMs: 10_000 });
    assert.match(ip('-4', 'addr', 'show', 'dev', 'br1'), /inet 10\.0\.1\.1\/24/, 'rollback brings the bridge back from its .netdev');
    assert.equal(mac(), mac1, 'with the same MAC address');
    const again = testLab(smaller, plan);
    assert.equal(again.failed, 0, again.table);
  } finally {
    labDown(plan.prefix);
  }
  assert.deepEqual(namespacesWith(plan.prefix), []);
  // Gone, or a zombie this process (its parent) has not reaped yet: the event loop has not run.
  const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^\d+ \(.*\) /s, '')[0] : 'gone';
  assert.ok(state === 'gone' || state === 'Z', `lab down stopped the router's networkd (state ${state})`);
});
