// Router advertisements on the real thing: the router's own systemd-networkd sends them from the
// rendered files, and client namespaces that do SLAAC (the kernel's own accept_ra/autoconf) show
// what a host makes of them: an address in the announced prefix, the default route via the
// router's link-local address, and (decoded from the RA by rdisc6) the DNS server and search
// domain. On a LAN numbered from a delegated prefix, the ISP (Kea) renumbers: the client's address
// in the old prefix must be deprecated within seconds (RFC 9096) and one in the new prefix appear.
// networkd 252 alone does not do that (it only stops announcing the old /64); the rendered
// prefix-delegation follower sends the lifetime-0 RAs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { labDown, upLab } from '../../src/lab/index.js';
import { renumber } from '../../src/lab/pd.js';
import { stateDir } from '../../src/lab/run.js';
import { have, must, run } from '../../src/lib/exec.js';
import { contains, parseAddress, parseCidr } from '../../src/lib/ip.js';
import { labSkip } from './helpers.js';

const skip = labSkip()
  || (!have('kea-dhcp6') ? 'skipped: kea-dhcp6 is not installed (scripts/setup.sh installs it)' : false)
  || (!have('rdisc6') ? 'skipped: rdisc6 is not installed (Debian package ndisc6; scripts/setup.sh installs it)' : false);

const SITE = `version: 1
name: ra-lab
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1, ipv6: dhcp, prefix-delegation: { length: 56 } }
  lan: { device: lan0, zone: lan, ipv4: 10.0.0.1/24, ipv6-from: { uplink: wan, subnet: 1 } }
  ula:
    device: lan1
    zone: lan
    ipv4: 10.0.1.1/24
    ipv6: fd00:1::1/64
    ra: { dns: ["fd00:1::1"], domains: [home.arpa], router-lifetime: 600, preferred-lifetime: 900, valid-lifetime: 1200 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
    - { from: wan, to: router, action: drop }
    - { from: wan, to: lan, action: drop }
nat:
  masquerade: [{ out: wan, source: [10.0.0.0/24, 10.0.1.0/24] }]
`;

interface Addr6 { local: string; prefixlen: number; dynamic?: boolean; deprecated?: boolean; preferred_life_time?: number; valid_life_time?: number }

/** The client's global IPv6 addresses as the kernel holds them. */
function addrs(ns: string): Addr6[] {
  const j = JSON.parse(must('ip', ['-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { netns: ns })) as { addr_info: Addr6[] }[];
  return j[0]?.addr_info ?? [];
}

/** An address the kernel formed by SLAAC (dynamic: it has lifetimes) in PREFIX. */
const slaacIn = (ns: string, prefix: string) => addrs(ns).find((a) => a.dynamic && contains(parseCidr(prefix)!, parseAddress(a.local)!.addr));

function waitUntil<T>(what: string, f: () => T | undefined, ms: number): T {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    run('sleep', ['0.2']);
  }
}

test('lab: networkd announces the LAN prefixes, DNS and search domain; after a PD renumbering the old prefix is deprecated at once (RFC 9096)', { skip, timeout: 180_000 }, () => {
  const r = compileSite(SITE, 'ra.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const { plan } = upLab(r, () => {});
  try {
    const router = plan.routers[0].ns;
    const ula = plan.hosts.find((h) => h.link.segment === 'ula')!;
    const lan = plan.hosts.find((h) => h.link.segment === 'lan')!;
    assert.ok(ula.slaac && lan.slaac, 'the lab plan gives both links a SLAAC client');

    // Static ULA link: SLAAC address, default route via the router's link-local, the RA's options.
    const own = waitUntil('a SLAAC address in fd00:1::/64', () => slaacIn(ula.ns, 'fd00:1::/64'), 15_000);
    assert.equal(own.prefixlen, 64);
    assert.ok(own.valid_life_time! <= 1200 && own.valid_life_time! > 1100, `valid lifetime as announced: ${own.valid_life_time}`);
    assert.ok(own.preferred_life_time! <= 900 && own.preferred_life_time! > 800, `preferred lifetime as announced: ${own.preferred_life_time}`);
    const routerLl = /inet6 (fe80::\S+)\/64 scope link/.exec(must('ip', ['-6', 'addr', 'show', 'dev', 'lan1'], { netns: router }))?.[1];
    assert.ok(routerLl, 'the router has a link-local address on lan1');
    const routes = JSON.parse(must('ip', ['-j', '-6', 'route', 'show', 'default', 'proto', 'ra'], { netns: ula.ns })) as { gateway: string; dev: string; expires?: number }[];
    assert.ok(routes.some((x) => x.gateway === routerLl && x.dev === 'eth0'), `default route via the router's link-local ${routerLl}: ${JSON.stringify(routes)}`);
    const ra = must('rdisc6', ['-1', '-w', '3000', 'eth0'], { netns: ula.ns });
    assert.match(ra, /Router lifetime\s*:\s*600 /);
    assert.match(ra, /Recursive DNS server\s*:\s*fd00:1::1\n/);
    assert.match(ra, /DNS search list\s*:\s*home\.arpa\s*\n/);
    assert.match(ra, /Prefix\s*:\s*fd00:1::\/64\n\s*On-link\s*:\s*Yes\n\s*Autonomous address conf\.\s*:\s*Yes/);
    assert.match(ra, new RegExp(`from ${routerLl}`));

    // Delegated LAN: SLAAC in the delegated /64 (2001:db8:200::/56, subnet 1), no DNS announced.
    const before = waitUntil('a SLAAC address in the delegated prefix', () => slaacIn(lan.ns, '2001:db8:200:1::/64'), 15_000);
    assert.ok(!before.deprecated && before.preferred_life_time! > 0);
    assert.doesNotMatch(must('rdisc6', ['-1', '-w', '3000', 'eth0'], { netns: lan.ns }), /Recursive DNS server/, 'no resolver on this link, no ra.dns: no RDNSS');

    // The ISP renumbers; networkd takes the new prefix, the follower withdraws the old one.
    const t0 = Date.now(); // from the ISP's restart with its other pool: renumber() waits for networkd to take the new prefix
    const [next] = renumber(plan, stateDir(plan.prefix));
    assert.equal(next, '2001:db8:300:1::/64');
    const renumbered = Date.now() - t0;
    const gone = waitUntil('the old SLAAC address deprecated', () => {
      const a = addrs(lan.ns).find((x) => x.local === before.local);
      return a && a.deprecated && a.preferred_life_time === 0 ? a : undefined;
    }, 20_000);
    const ms = Date.now() - t0;
    // networkd takes the new prefix a few seconds after the ISP changed; the follower looks every 2 s.
    assert.ok(ms < 15_000, `deprecated ${ms} ms after the ISP renumbered`);
    assert.ok(gone.valid_life_time! <= before.valid_life_time!, 'RFC 4862 two-hour rule: still valid no longer than before, for connections in flight');
    const fresh = waitUntil('a SLAAC address in the new prefix', () => slaacIn(lan.ns, '2001:db8:300:1::/64'), 15_000);
    assert.ok(!fresh.deprecated && fresh.preferred_life_time! > 0, 'the new address is preferred');
    // New connections take the new address: the kernel's source choice for an Internet host.
    const src = /src (\S+)/.exec(must('ip', ['-6', 'route', 'get', plan.isp!.internet6], { netns: lan.ns }))?.[1];
    assert.notEqual(src, before.local, 'the deprecated address is not chosen as a source');
    const log = run('cat', [`${stateDir(plan.prefix)}/logs/pd-follow-router.log`]).stdout;
    assert.match(log, /ra: lan0: announced 2001:db8:200:1::\/64 with lifetime 0/, `the follower says it withdrew the old prefix:\n${log}`);
    console.log(`ra: the client's old address deprecated ${ms} ms after the ISP renumbered (networkd had the new prefix after ${renumbered} ms); follower log:\n${log.trim()}`);
  } finally {
    labDown(plan.prefix);
  }
});
