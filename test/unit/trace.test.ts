// The offline packet tracer against the examples and small inline sites. Every expectation is read
// off the site file (which rule, which policy, which device) and the rendered ruleset's structure,
// not off the tracer's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import type { NodeModel } from '../../src/model/types.js';
import { tracePacket, TraceInputError, type Packet, type TraceOptions, type TraceResult } from '../../src/trace/evaluate.js';

const root = join(import.meta.dirname, '..', '..');

function compile(text: string, file: string, node?: string): NodeModel {
  const r = compileSite(text, file, { readFile: fileReaderBeside(join(root, 'examples', file)) });
  assert.ok(r.ok, r.diagnostics.map((d) => `${d.code} ${d.path} ${d.message}`).join('\n'));
  const n = node ? r.nodes.find((x) => x.node === node) : r.nodes[0];
  assert.ok(n, `node ${node}`);
  return n.model;
}
const example = (name: string, node?: string) => compile(readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8'), `${name}.yaml`, node);

type P = Omit<Packet, 'family' | 'iif' | 'proto' | 'src' | 'dst'>;
/** trace(model, 'iif', 'tcp', 'src', 'dst', { dport }) */
function trace(m: NodeModel, iif: string, proto: string, src: string, dst: string, rest: P = {}, opts?: TraceOptions): TraceResult {
  return tracePacket(m, { family: src.includes(':') ? 6 : 4, iif, proto, src, dst, ...rest }, opts);
}

function expect(r: TraceResult, want: { verdict: string; by: string; name?: string; hook?: string; oif?: string }) {
  assert.equal(r.verdict, want.verdict, JSON.stringify(r.steps, null, 1));
  assert.equal(r.decidedBy.path, want.by, JSON.stringify(r.steps, null, 1));
  if ('name' in want) assert.equal(r.decidedBy.name, want.name);
  if (want.hook) assert.equal(r.hook, want.hook);
  if ('oif' in want) assert.equal(r.oif, want.oif);
}

// --- home-router: lan enp2s0 10.0.0.1/24, wan ppp0 (PPPoE over enp1s0); lan→wan accept (policies[0]),
// lan→router drop (policies[1]), wan→router drop (policies[2]), wan→lan drop (policies[3]).
test('home-router: LAN client to the Internet is accepted by the lan→wan policy and masqueraded', () => {
  const r = trace(example('home-router'), 'enp2s0', 'tcp', '10.0.0.50', '203.0.113.200', { sport: 40000, dport: 443 });
  expect(r, { verdict: 'accept', by: 'firewall.policies[0]', hook: 'forward', oif: 'ppp0' });
  assert.equal(r.dnat, undefined);
  assert.deepEqual(r.snat, { kind: 'masquerade', to: undefined, path: 'nat.masquerade[0]' });
  // the route is the DHCP default on the uplink
  assert.ok(r.steps.some((s) => s.table === 'routing' && /PPPoE on ppp0/.test(s.text)));
});

test('home-router: router services — ssh from the LAN by its rule, from the WAN by the logged policy', () => {
  const m = example('home-router');
  expect(trace(m, 'enp2s0', 'tcp', '10.0.0.50', '10.0.0.1', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'ssh-from-lan', hook: 'input', oif: undefined });
  // source outside 10.0.0.0/24: ssh-from-lan does not match, nor ping/dns/dhcp; lan→router policy drops
  expect(trace(m, 'enp2s0', 'tcp', '192.168.7.7', '10.0.0.1', { dport: 22 }), { verdict: 'drop', by: 'firewall.policies[1]', hook: 'input' });
  const wan = trace(m, 'ppp0', 'tcp', '198.51.100.7', '10.0.0.1', { dport: 22 });
  expect(wan, { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
  // The drop log (on: the policy says log): a rate-limited NFLOG line naming the policy, no verdict; the policy's drop decides.
  assert.ok(wan.steps.some((s) => s.chain === 'in_wan' && /^log group 1 prefix "kairo k[0-9a-f]{8} wan>router firewall\.policies\[wan>router\]" \(rate-limited, no verdict\)$/.test(s.text)), 'the policy logs before dropping');
  // The resolver opens 53 on the LAN itself (no rule of the user's), and nowhere else.
  expect(trace(m, 'enp2s0', 'udp', '10.0.0.50', '10.0.0.1', { dport: 53 }), { verdict: 'accept', by: 'dns (resolver on interfaces.lan)', hook: 'input' });
  expect(trace(m, 'enp2s0', 'tcp', '10.0.0.50', '10.0.0.1', { dport: 53 }), { verdict: 'accept', by: 'dns (resolver on interfaces.lan)', hook: 'input' });
  expect(trace(m, 'ppp0', 'udp', '198.51.100.7', '10.0.0.1', { dport: 53 }), { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
  expect(trace(m, 'enp2s0', 'icmp', '10.0.0.50', '10.0.0.1', { icmpType: 'echo-request' }), { verdict: 'accept', by: 'firewall.rules[1]', name: 'ping-from-lan' });
  // DHCP discover: limited broadcast is delivered to the router
  // The DHCP server opens its port on the link it serves, before the zone's rules.
  expect(trace(m, 'enp2s0', 'udp', '0.0.0.0', '255.255.255.255', { sport: 68, dport: 67 }), { verdict: 'accept', by: 'interfaces.lan.dhcp (DHCPv4 server)', hook: 'input' });
  expect(trace(m, 'ppp0', 'udp', '0.0.0.0', '255.255.255.255', { sport: 68, dport: 67 }), { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
});

test('home-router: conntrack state decides before the zones; new WAN→LAN is dropped by its policy', () => {
  const m = example('home-router');
  const est = trace(m, 'ppp0', 'tcp', '203.0.113.200', '10.0.0.50', { sport: 443, dport: 40000, state: 'established' });
  expect(est, { verdict: 'accept', by: 'base: ct state established', hook: 'forward', oif: 'enp2s0' });
  expect(trace(m, 'ppp0', 'tcp', '203.0.113.200', '10.0.0.50', { sport: 443, dport: 40000, state: 'related' }), { verdict: 'accept', by: 'base: ct state related' });
  expect(trace(m, 'ppp0', 'tcp', '203.0.113.200', '10.0.0.50', { sport: 443, dport: 40000, state: 'invalid' }), { verdict: 'drop', by: 'base: ct state invalid' });
  // Straight to the LAN's private address: ingress filtering behind the masquerade drops it first.
  expect(trace(m, 'ppp0', 'tcp', '203.0.113.200', '10.0.0.50', { dport: 80 }), { verdict: 'drop', by: 'nat.masquerade[0]', oif: 'enp2s0' });
  // new WAN→router established ssh reply is input
  expect(trace(m, 'ppp0', 'tcp', '198.51.100.7', '10.0.0.1', { sport: 22, dport: 50000, state: 'established' }), { verdict: 'accept', by: 'base: ct state established', hook: 'input' });
});

test('home-router: the PPP address is unknown offline; given as a local address it is the router', () => {
  const m = example('home-router');
  // Without it, 203.0.113.9 is routed back out of the uplink: wan→wan has no chain
  expect(trace(m, 'ppp0', 'tcp', '198.51.100.7', '203.0.113.9', { dport: 22 }), { verdict: 'drop', by: 'firewall.default (wan → unlisted)', hook: 'forward', oif: 'ppp0' });
  expect(trace(m, 'ppp0', 'tcp', '198.51.100.7', '203.0.113.9', { dport: 22 }, { localAddresses: ['203.0.113.9'] }), { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
  // IPv6: the site has none, so ipv6 forwarding is off
  expect(trace(m, 'enp2s0', 'tcp', 'fd00::5', '2001:db8::1', { dport: 443 }), { verdict: 'drop', by: 'routing: forwarding off (sysctl.ipv6-forwarding)' });
});

// --- cloud-nat-instance: eth0 wan 10.0.0.1/24 + 2001:db8:1:0:65b0:adc4:6e38:7fd0/64 (accept-ra),
// eth1 private 10.0.1.254/24 + 2001:db8:1:1::1/64; forwards of 8001 by address.
test('cloud-nat-instance: port mapping 10.0.0.1:8001 → 10.0.1.1:80 is accepted by the ct status dnat rule', () => {
  const m = example('cloud-nat-instance');
  const r = trace(m, 'eth0', 'tcp', '198.51.100.7', '10.0.0.1', { sport: 50000, dport: 8001 });
  expect(r, { verdict: 'accept', by: 'nat.forwards', hook: 'forward', oif: 'eth1' });
  assert.deepEqual(r.dnat, { addr: '10.0.1.1', port: 80, path: 'nat.forwards[0]', name: 'PortMapping' });
  assert.equal(r.snat, undefined, 'masquerade is only out of eth0');
  // another port on the same address is the router's own: wan→router has only ssh, then the drop policy
  expect(trace(m, 'eth0', 'tcp', '198.51.100.7', '10.0.0.1', { dport: 8002 }), { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
  expect(trace(m, 'eth0', 'tcp', '198.51.100.7', '10.0.0.1', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'ssh', hook: 'input' });
  // straight to the private host without DNAT: the masquerade's ingress filter drops it
  expect(trace(m, 'eth0', 'tcp', '198.51.100.7', '10.0.1.1', { dport: 80 }), { verdict: 'drop', by: 'nat.masquerade[0]', oif: 'eth1' });
  // udp 8001 is not mapped (the forward is tcp only)
  expect(trace(m, 'eth0', 'udp', '198.51.100.7', '10.0.0.1', { dport: 8001 }), { verdict: 'drop', by: 'firewall.policies[2]', hook: 'input' });
});

test('cloud-nat-instance: the IPv6 mapping, IPv6 masquerade and RFC 4890 errors', () => {
  const m = example('cloud-nat-instance');
  const r = trace(m, 'eth0', 'tcp', '2001:db8:ffff::7', '2001:db8:1:0:65b0:adc4:6e38:7fd0', { dport: 8001 });
  expect(r, { verdict: 'accept', by: 'nat.forwards', oif: 'eth1' });
  assert.deepEqual(r.dnat, { addr: '2001:db8:1:1:9e25:e543:8a42:24e9', port: 80, path: 'nat.forwards[1]', name: 'PortMapping6' });
  // private → Internet over IPv6: default route from RAs on eth0, private→wan accept, masquerade (family both)
  const out = trace(m, 'eth1', 'tcp', '2001:db8:1:1::5', '2001:db8:ffff::1', { dport: 443 });
  expect(out, { verdict: 'accept', by: 'firewall.policies[0]', oif: 'eth0' });
  assert.deepEqual(out.snat, { kind: 'masquerade', to: '2001:db8:1:0:65b0:adc4:6e38:7fd0', path: 'nat.masquerade[0]' });
  // packet-too-big towards the private net passes although wan→private drops
  expect(trace(m, 'eth0', 'icmpv6', '2001:db8:ffff::1', '2001:db8:1:1::5', { icmpType: 'packet-too-big' }), { verdict: 'accept', by: 'base: RFC 4890 errors', oif: 'eth1' });
  expect(trace(m, 'eth0', 'icmpv6', '2001:db8:ffff::1', '2001:db8:1:1::5', { icmpType: 'echo-request' }), { verdict: 'drop', by: 'firewall.policies[3]' });
});

test('cloud-nat-instance: a private client using the public address is hairpinned and masqueraded', () => {
  const r = trace(example('cloud-nat-instance'), 'eth1', 'tcp', '10.0.1.5', '10.0.0.1', { dport: 8001 });
  expect(r, { verdict: 'accept', by: 'nat.forwards', oif: 'eth1' });
  assert.deepEqual(r.dnat, { addr: '10.0.1.1', port: 80, path: 'nat.forwards[0]', name: 'PortMapping' });
  assert.deepEqual(r.snat, { kind: 'hairpin', to: '10.0.1.254', path: 'nat.forwards hairpin' });
});

// --- vps-nat66-containers: eth0 wan 2001:db8:202:1202::10/64 gw fe80::1, lxcbr0 containers fd00::1/64.
test('vps-nat66: forwards of the one IPv6 address to fd00::3, other ports stay the router\'s', () => {
  const m = example('vps-nat66-containers');
  const http = trace(m, 'eth0', 'tcp', '2001:db8:9::1', '2001:db8:202:1202::10', { dport: 80 });
  expect(http, { verdict: 'accept', by: 'nat.forwards', oif: 'lxcbr0' });
  assert.deepEqual(http.dnat, { addr: 'fd00::3', port: 80, path: 'nat.forwards[0]', name: 'vm00-http' });
  const dns = trace(m, 'eth0', 'udp', '2001:db8:9::1', '2001:db8:202:1202::10', { dport: 53 });
  assert.deepEqual(dns.dnat, { addr: 'fd00::3', port: 53, path: 'nat.forwards[1]', name: 'vm00-dns' });
  expect(trace(m, 'eth0', 'tcp', '2001:db8:9::1', '2001:db8:202:1202::10', { dport: 443 }), { verdict: 'drop', by: 'firewall.policies[0]', hook: 'input' });
  expect(trace(m, 'eth0', 'tcp', '2001:db8:9::1', '2001:db8:202:1202::10', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'ssh' });
});

test('vps-nat66: containers out — rules in order, then the containers→wan policy', () => {
  const m = example('vps-nat66-containers');
  const web = trace(m, 'lxcbr0', 'tcp', 'fd00::3', '2001:db8:ffff::1', { dport: 443 });
  expect(web, { verdict: 'accept', by: 'firewall.rules[1]', name: 'web-out', oif: 'eth0' });
  assert.deepEqual(web.snat, { kind: 'masquerade', to: '2001:db8:202:1202::10', path: 'nat.masquerade[0]' });
  expect(trace(m, 'lxcbr0', 'udp', '10.0.0.3', '198.51.100.1', { dport: 123 }), { verdict: 'accept', by: 'firewall.rules[2]', name: 'dns-ntp-out', oif: 'eth0' });
  expect(trace(m, 'lxcbr0', 'icmpv6', 'fd00::3', '2001:db8:ffff::1', { icmpType: 'echo-request' }), { verdict: 'accept', by: 'firewall.rules[3]', name: 'ping6-out' });
  expect(trace(m, 'lxcbr0', 'tcp', '10.0.0.3', '198.51.100.1', { dport: 22 }), { verdict: 'drop', by: 'firewall.policies[2]', oif: 'eth0' });
});

// --- routed-vm-host: eth0 203.0.113.48/32 peer 203.0.113.1; one bridge per public address with a host route.
test('routed-vm-host: the Internet reaches a VM\'s public address through its bridge', () => {
  const m = example('routed-vm-host');
  const r = trace(m, 'eth0', 'tcp', '198.51.100.200', '192.0.2.116', { dport: 80 });
  expect(r, { verdict: 'accept', by: 'firewall.rules[2]', name: 'net-to-vm', oif: 'br116' });
  assert.equal(r.snat, undefined);
  expect(trace(m, 'eth0', 'tcp', '198.51.100.200', '198.51.100.11', { dport: 443 }), { verdict: 'accept', by: 'firewall.rules[2]', oif: 'br11' });
  // a bootstrap (private) address is not in @public: wan→vms drops
  expect(trace(m, 'eth0', 'tcp', '198.51.100.200', '172.30.116.50', { dport: 80 }), { verdict: 'drop', by: 'nat.snat[0]', oif: 'br116' });
  expect(trace(m, 'eth0', 'tcp', '198.51.100.200', '203.0.113.48', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'ssh', hook: 'input' });
  expect(trace(m, 'eth0', 'icmp', '198.51.100.200', '203.0.113.48', { icmpType: 'echo-request' }), { verdict: 'accept', by: 'firewall.rules[1]', name: 'ping' });
  // the peer itself is out of the uplink again: wan→wan has no chain
  expect(trace(m, 'eth0', 'tcp', '198.51.100.200', '203.0.113.1', { dport: 22 }), { verdict: 'drop', by: 'firewall.default (wan → unlisted)', oif: 'eth0' });
});

test('routed-vm-host: VM to VM only towards public addresses; bootstrap out is SNATed to the host address', () => {
  const m = example('routed-vm-host');
  expect(trace(m, 'br116', 'tcp', '192.0.2.116', '198.51.100.12', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[5]', name: 'vm-to-vm-public', oif: 'br12' });
  expect(trace(m, 'br11', 'tcp', '172.30.11.50', '192.0.2.113', { dport: 80 }), { verdict: 'accept', by: 'firewall.rules[5]', name: 'vm-to-vm-public', oif: 'br113' });
  expect(trace(m, 'br11', 'tcp', '172.30.11.50', '172.30.12.50', { dport: 80 }), { verdict: 'drop', by: 'firewall.policies[3]', oif: 'br12' });
  const boot = trace(m, 'br11', 'udp', '172.30.11.50', '9.9.9.9', { dport: 53 });
  expect(boot, { verdict: 'accept', by: 'firewall.rules[4]', name: 'vm-bootstrap-out', oif: 'eth0' });
  assert.deepEqual(boot.snat, { kind: 'snat', to: '203.0.113.48', path: 'nat.snat[0]' });
  const pub = trace(m, 'br116', 'tcp', '192.0.2.116', '9.9.9.9', { dport: 443 });
  expect(pub, { verdict: 'accept', by: 'firewall.rules[3]', name: 'vm-public-out', oif: 'eth0' });
  assert.equal(pub.snat, undefined, 'public sources keep their address');
  expect(trace(m, 'br11', 'udp', '0.0.0.0', '255.255.255.255', { sport: 68, dport: 67 }), { verdict: 'accept', by: 'interfaces.br11.dhcp (DHCPv4 server)', hook: 'input' });
  expect(trace(m, 'br11', 'tcp', '172.30.11.50', '172.30.11.1', { dport: 22 }), { verdict: 'drop', by: 'firewall.policies[4]', hook: 'input' });
});

test('routed-vm-host: a VM cannot send with another VM\'s address (anti-spoofing per bridge, IPv4 and IPv6)', () => {
  const m = example('routed-vm-host');
  expect(trace(m, 'br11', 'tcp', '198.51.100.12', '9.9.9.9', { dport: 443 }), { verdict: 'drop', by: 'interfaces.br11.routes', oif: 'eth0' });
  expect(trace(m, 'br116', 'tcp', '192.0.2.117', '198.51.100.12', { dport: 22 }), { verdict: 'drop', by: 'interfaces.br116.routes', oif: 'br12' });
  const v6 = compile(`version: 1
interfaces:
  up: { device: eth0, zone: wan, ipv6: 2001:db8::2/64, gateway6: fe80::1 }
  vm1: { device: br1, zone: vms, bridge: [], ipv6: fd00:1::1/64, routes: [{ to: 2001:db8:100::/64 }] }
  vm2: { device: br2, zone: vms, bridge: [], ipv6: fd00:2::1/64, routes: [{ to: 2001:db8:200::/64 }] }
firewall:
  policies:
    - { from: vms, to: wan, action: accept }
`, 'v6.yaml');
  expect(trace(v6, 'br1', 'tcp', '2001:db8:100::5', '2001:db8:ffff::1', { dport: 443 }), { verdict: 'accept', by: 'firewall.policies[0]', oif: 'eth0' });
  expect(trace(v6, 'br1', 'tcp', '2001:db8:200::5', '2001:db8:ffff::1', { dport: 443 }), { verdict: 'drop', by: 'interfaces.vm1.routes', oif: 'eth0' });
});

// --- ipoe-ha-pair: two nodes with different devices; wan on enp3s0 (beagle) / enp0s25 (primergy).
test('ipoe-ha-pair: VRRP, ICMPv6 and DS-Lite to the router; the family of a rule is honoured', () => {
  for (const [node, wan] of [['beagle', 'enp3s0'], ['primergy', 'enp0s25']] as const) {
    const m = example('ipoe-ha-pair', node);
    expect(trace(m, wan, 'vrrp', '192.168.1.4', '224.0.0.18'), { verdict: 'accept', by: 'firewall.rules[3]', name: 'WAN_LOCAL-40', hook: 'input' });
  }
  const m = example('ipoe-ha-pair', 'beagle');
  expect(trace(m, 'enp3s0', 'vrrp', '10.9.9.9', '224.0.0.18'), { verdict: 'drop', by: 'firewall.policies[3]' });
  expect(trace(m, 'enp3s0', 'icmpv6', 'fe80::2', 'fe80::1', { icmpType: 'echo-request' }), { verdict: 'accept', by: 'firewall.rules[4]', name: 'WANv6_LOCAL-30', hook: 'input' });
  expect(trace(m, 'enp3s0', 'icmpv6', 'fe80::2', 'fe80::1', { icmpType: 'nd-neighbor-solicit' }), { verdict: 'accept', by: 'base: RFC 4890 neighbour discovery' });
  expect(trace(m, 'enp3s0', 'icmpv6', 'fe80::2', 'ff02::16', { icmpType: 'mld2-listener-report' }), { verdict: 'accept', by: 'base: RFC 4890 MLD' });
  // ipip over IPv6 (DS-Lite) to the SLAAC address, given as local; over IPv4 the family: ipv6 rule does not match
  const local = { localAddresses: ['2001:db8:5::3'] };
  expect(trace(m, 'enp3s0', 'ipip', '2001:db8:9::1', '2001:db8:5::3', {}, local), { verdict: 'accept', by: 'firewall.rules[6]', name: 'WANv6_LOCAL-50', hook: 'input' });
  expect(trace(m, 'enp3s0', 'ipip', '192.168.1.1', '192.168.1.3'), { verdict: 'drop', by: 'firewall.policies[3]' });
  expect(trace(m, 'enp3s0', 'udp', 'fe80::1', 'fe80::3', { sport: 547, dport: 546 }), { verdict: 'accept', by: 'firewall.rules[5]', name: 'WANv6_LOCAL-40' });
  // forward wan → lan: icmp from the gateway network by its rule, tcp by the policy
  expect(trace(m, 'enp3s0', 'icmp', '192.168.1.1', '192.168.2.10', { icmpType: 'echo-request' }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'WAN_IN-30', oif: 'enp4s0' });
  expect(trace(m, 'enp3s0', 'tcp', '192.168.1.1', '192.168.2.10', { dport: 80 }), { verdict: 'drop', by: 'firewall.policies[2]', oif: 'enp4s0' });
  expect(trace(m, 'enp4s0', 'tcp', '192.168.2.10', '192.168.2.2', { dport: 22 }), { verdict: 'accept', by: 'firewall.policies[1]', hook: 'input' });
  // IPv4 to the Internet leaves over the DS-Lite softwire, which is in the wan zone
  expect(trace(m, 'enp4s0', 'tcp', '192.168.2.10', '93.184.216.34', { dport: 443 }), { verdict: 'accept', by: 'firewall.policies[0]', oif: 'ip6tnl1' });
  // the AFTR's encapsulated IPv4 is let in by the softwire's own rule, before the zone rules
  expect(trace(m, 'enp3s0', 'ipip', '2404:8e00::feed:100', '2001:db8:5::3', {}, local), { verdict: 'accept', by: 'base: interfaces.dmz.ds-lite (ipip from the AFTR)', hook: 'input' });
});

test('NPTv6: the published prefix reaches the inside host; the inside ULA straight from the uplink does not', () => {
  const m = compile(`version: 1
interfaces:
  wan: { device: wan0, zone: wan, ipv6: 2001:db8:1::2/64, gateway6: fe80::1 }
  lan: { device: lan0, zone: lan, ipv6: fd00:1::1/64 }
nat:
  npt: [{ out: wan, inside: fd00:1::/64, outside: 2001:db8:2::/64 }]
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
  rules:
    - { name: web, from: wan, to: lan, proto: tcp, port: 443, destination: "fd00:1::10", action: accept }
`, 'npt.yaml');
  const via = trace(m, 'wan0', 'tcp', '2001:db8:ffff::7', '2001:db8:2::10', { dport: 443 });
  expect(via, { verdict: 'accept', by: 'firewall.rules[0]', name: 'web', oif: 'lan0' });
  expect(trace(m, 'wan0', 'tcp', '2001:db8:ffff::7', 'fd00:1::10', { dport: 443 }), { verdict: 'drop', by: 'nat.npt[0]', oif: 'lan0' });
});

// --- inline sites
const SETS = `
version: 1
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }
  lan: { device: lan0, zone: lan, ipv4: 10.0.1.1/24 }
sets:
  blocked: { family: ipv4, elements: [198.51.100.0/28, 203.0.113.7, 203.0.113.100-203.0.113.120] }
firewall:
  default: reject
  policies:
    - { from: lan, to: wan, action: accept }
  rules:
    - { name: block, from: any, to: any, source: "@blocked", action: drop }
    - { name: web-range, from: wan, to: lan, proto: tcp, port: ["8000-8100", 443], destination: 10.0.1.0/28, action: accept }
    - { name: ntp-replies, from: wan, to: lan, proto: udp, source-port: 123, action: accept }
    - { name: limited-ping, from: wan, to: router, proto: icmp, icmp-type: echo-request, limit: 5/second, action: accept }
    - { name: no-telnet, from: lan, to: wan, proto: tcp, port: 23, action: reject }
nat:
  # Only the upper half is masqueraded (and ingress-filtered): the lower half is routed to wan0.
  masquerade: [{ out: wan, source: 10.0.1.128/25 }]
  forwards:
    - { name: games, from: wan, proto: [tcp, udp], port: "27000-27015", to: 10.0.1.20 }
    - { name: web, from: wan, proto: tcp, port: 8080, to: "10.0.1.10:80" }
`;

test('sets with prefixes, addresses and ranges; port ranges; source ports; first match wins', () => {
  const m = compile(SETS, 'sets.yaml');
  for (const src of ['198.51.100.5', '203.0.113.7', '203.0.113.100', '203.0.113.110', '203.0.113.120']) {
    expect(trace(m, 'wan0', 'tcp', src, '10.0.1.5', { dport: 8050 }), { verdict: 'drop', by: 'firewall.rules[0]', name: 'block', oif: 'lan0' });
  }
  for (const src of ['198.51.100.16', '203.0.113.8', '203.0.113.99', '203.0.113.121']) {
    expect(trace(m, 'wan0', 'tcp', src, '10.0.1.5', { dport: 8050 }), { verdict: 'accept', by: 'firewall.rules[1]', name: 'web-range' });
  }
  expect(trace(m, 'wan0', 'tcp', '203.0.113.8', '10.0.1.5', { dport: 443 }), { verdict: 'accept', by: 'firewall.rules[1]' });
  expect(trace(m, 'wan0', 'tcp', '203.0.113.8', '10.0.1.5', { dport: 8101 }), { verdict: 'reject', by: 'firewall.default (wan → lan)' });
  // 10.0.1.50 is outside the rule's 10.0.1.0/28
  expect(trace(m, 'wan0', 'tcp', '203.0.113.8', '10.0.1.50', { dport: 8050 }), { verdict: 'reject', by: 'firewall.default (wan → lan)' });
  expect(trace(m, 'wan0', 'udp', '203.0.113.8', '10.0.1.50', { sport: 123, dport: 40000 }), { verdict: 'accept', by: 'firewall.rules[2]', name: 'ntp-replies' });
  expect(trace(m, 'wan0', 'udp', '203.0.113.8', '10.0.1.50', { sport: 124, dport: 40000 }), { verdict: 'reject', by: 'firewall.default (wan → lan)' });
  // the block rule matches sources only: a blocked destination from the LAN passes
  expect(trace(m, 'lan0', 'tcp', '10.0.1.5', '203.0.113.7', { dport: 443 }), { verdict: 'accept', by: 'firewall.policies[0]' });
});

test('reject verdicts: a reject rule, the reject default; limit rules count as matching', () => {
  const m = compile(SETS, 'sets.yaml');
  const telnet = trace(m, 'lan0', 'tcp', '10.0.1.5', '203.0.113.50', { dport: 23 });
  expect(telnet, { verdict: 'reject', by: 'firewall.rules[4]', name: 'no-telnet', oif: 'wan0' });
  assert.equal(telnet.snat, undefined, 'a rejected packet reaches no postrouting');
  const ping = trace(m, 'wan0', 'icmp', '203.0.113.50', '192.0.2.2', { icmpType: 'echo-request' });
  expect(ping, { verdict: 'accept', by: 'firewall.rules[3]', name: 'limited-ping', hook: 'input' });
  assert.ok(ping.steps.some((s) => s.path === 'firewall.rules[3]' && /limit rate 5\/second treated as not exceeded/.test(s.text)));
  expect(trace(m, 'wan0', 'icmp', '203.0.113.50', '192.0.2.2', { icmpType: 'echo-reply' }), { verdict: 'reject', by: 'firewall.default (wan → router)' });
  expect(trace(m, 'lan0', 'tcp', '10.0.1.5', '10.0.1.1', { dport: 22 }), { verdict: 'reject', by: 'firewall.default (lan → router)' });
});

test('port forwards: a range keeps its port, a single port goes to its target on any local address', () => {
  const m = compile(SETS, 'sets.yaml');
  for (const proto of ['tcp', 'udp']) {
    const r = trace(m, 'wan0', proto, '203.0.113.50', '192.0.2.2', { dport: 27005 });
    expect(r, { verdict: 'accept', by: 'nat.forwards', oif: 'lan0' });
    assert.deepEqual(r.dnat, { addr: '10.0.1.20', port: 27005, path: 'nat.forwards[0]', name: 'games' });
  }
  expect(trace(m, 'wan0', 'tcp', '203.0.113.50', '192.0.2.2', { dport: 27016 }), { verdict: 'reject', by: 'firewall.default (wan → router)' });
  const web = trace(m, 'wan0', 'tcp', '203.0.113.50', '192.0.2.2', { dport: 8080 });
  assert.deepEqual(web.dnat, { addr: '10.0.1.10', port: 80, path: 'nat.forwards[1]', name: 'web' });
  // `fib daddr type local`: the LAN address is local too
  assert.deepEqual(trace(m, 'wan0', 'tcp', '203.0.113.50', '10.0.1.1', { dport: 8080 }).dnat?.addr, '10.0.1.10');
  // a blocked source is DNATed first (prerouting), then the zone pair's rules run before the
  // port-forward acceptance, so the blocklist protects forwarded services too
  expect(trace(m, 'wan0', 'tcp', '203.0.113.7', '192.0.2.2', { dport: 8080 }), { verdict: 'drop', by: 'firewall.rules[0]', name: 'block' });
});

test('hairpin: LAN clients using the static public address reach the target and are masqueraded', () => {
  const m = compile(SETS, 'sets.yaml');
  const r = trace(m, 'lan0', 'tcp', '10.0.1.50', '192.0.2.2', { dport: 8080 });
  expect(r, { verdict: 'accept', by: 'nat.forwards', oif: 'lan0' });
  assert.deepEqual(r.dnat, { addr: '10.0.1.10', port: 80, path: 'nat.forwards[1]', name: 'web' });
  assert.deepEqual(r.snat, { kind: 'hairpin', to: '10.0.1.1', path: 'nat.forwards hairpin' });
  // the public address is the wan static one only; the LAN address is not hairpinned
  assert.equal(trace(m, 'lan0', 'tcp', '10.0.1.50', '10.0.1.1', { dport: 8080 }).dnat, undefined);
  // port-range forwards are hairpinned too, ports kept
  const range = trace(m, 'lan0', 'tcp', '10.0.1.50', '192.0.2.2', { dport: 27005 });
  assert.deepEqual(range.dnat, { addr: '10.0.1.20', port: 27005, path: 'nat.forwards[0]', name: 'games' });
  expect(range, { verdict: 'accept', by: 'nat.forwards', oif: 'lan0' });
  assert.equal(range.snat?.kind, 'hairpin');
});

test('hairpin with a dynamic uplink: any local address is public', () => {
  const m = compile(`
version: 1
interfaces:
  wan: { device: wan0, zone: wan, ipv4: dhcp }
  lan: { device: lan0, zone: lan, ipv4: 10.0.0.1/24 }
firewall:
  policies: [{ from: lan, to: wan, action: accept }]
nat:
  masquerade: [{ out: wan, source: 10.0.0.0/24 }]
  forwards: [{ name: web, proto: tcp, port: 80, to: 10.0.0.10 }]
`, 'dyn.yaml');
  const local = { localAddresses: ['203.0.113.5'] };
  const inbound = trace(m, 'wan0', 'tcp', '198.51.100.1', '203.0.113.5', { dport: 80 }, local);
  assert.deepEqual(inbound.dnat, { addr: '10.0.0.10', port: 80, path: 'nat.forwards[0]', name: 'web' });
  expect(inbound, { verdict: 'accept', by: 'nat.forwards', oif: 'lan0' });
  // without the address the packet is not for the router: routed back out of the uplink
  expect(trace(m, 'wan0', 'tcp', '198.51.100.1', '203.0.113.5', { dport: 80 }), { verdict: 'drop', by: 'firewall.default (wan → unlisted)', oif: 'wan0' });
  const hp = trace(m, 'lan0', 'tcp', '10.0.0.50', '203.0.113.5', { dport: 80 }, local);
  assert.equal(hp.dnat?.addr, '10.0.0.10');
  assert.deepEqual(hp.snat, { kind: 'hairpin', to: '10.0.0.1', path: 'nat.forwards hairpin' });
  assert.equal(trace(m, 'lan0', 'tcp', '10.0.0.50', '10.0.0.1', { dport: 80 }).dnat?.addr, '10.0.0.10');
});

test('routing: longest prefix over connected, routes and defaults; no route drops; unzoned interfaces', () => {
  const m = compile(`
version: 1
interfaces:
  a: { device: a0, zone: inside, ipv4: 10.1.0.1/24 }
  b: { device: b0, zone: inside, ipv4: 10.2.0.1/24, routes: [{ to: 10.3.0.0/16, via: 10.2.0.254 }] }
  c: { device: c0, zone: other, ipv4: 10.4.0.1/24, routes: [{ to: 10.3.5.0/24, via: 10.4.0.254 }] }
firewall:
  policies: [{ from: inside, to: inside, action: accept }]
`, 'routes.yaml');
  expect(trace(m, 'a0', 'tcp', '10.1.0.5', '10.3.1.1', { dport: 80 }), { verdict: 'accept', by: 'firewall.policies[0]', oif: 'b0' });
  expect(trace(m, 'a0', 'tcp', '10.1.0.5', '10.3.5.7', { dport: 80 }), { verdict: 'drop', by: 'firewall.default (inside → unlisted)', oif: 'c0' });
  const none = trace(m, 'a0', 'tcp', '10.1.0.5', '8.8.8.8', { dport: 80 });
  expect(none, { verdict: 'drop', by: 'routing: no route', hook: 'forward', oif: undefined });
  expect(trace(m, 'docker0', 'tcp', '172.17.0.2', '10.1.0.5', { dport: 80 }), { verdict: 'drop', by: 'firewall.default (unzoned interface)', oif: 'a0' });
  expect(trace(m, 'docker0', 'tcp', '172.17.0.2', '10.1.0.1', { dport: 22 }), { verdict: 'drop', by: 'firewall.default (unzoned interface → router)', hook: 'input' });
  expect(trace(m, 'lo', 'tcp', '127.0.0.1', '127.0.0.1', { dport: 22 }), { verdict: 'accept', by: 'base: lo', hook: 'input' });
  // a subnet broadcast is for the router
  expect(trace(m, 'a0', 'udp', '10.1.0.5', '10.1.0.255', { dport: 137 }), { verdict: 'drop', by: 'firewall.default (inside → router)', hook: 'input' });
});

test('forwarding off in sysctl drops what is not for the router', () => {
  const m = compile(`
version: 1
interfaces:
  a: { device: a0, zone: inside, ipv4: 10.1.0.1/24 }
  b: { device: b0, zone: inside, ipv4: 10.2.0.1/24 }
firewall:
  policies: [{ from: inside, to: inside, action: accept }, { from: inside, to: router, action: accept }]
sysctl: { ipv4-forwarding: false }
`, 'nofwd.yaml');
  expect(trace(m, 'a0', 'tcp', '10.1.0.5', '10.2.0.5', { dport: 80 }), { verdict: 'drop', by: 'routing: forwarding off (sysctl.ipv4-forwarding)' });
  expect(trace(m, 'a0', 'tcp', '10.1.0.5', '10.2.0.1', { dport: 80 }), { verdict: 'accept', by: 'firewall.policies[1]', hook: 'input' });
});

test('a rule mixing tcp and icmp is IPv4 only (icmp implies it) and the ruleset says so', () => {
  const m = compile(`
version: 1
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, ipv6: 2001:db8:1::2/64 }
firewall:
  rules:
    - { name: mixed, from: wan, to: router, proto: [tcp, icmp], action: accept }
    - { name: v6-only, from: wan, to: router, family: ipv6, proto: udp, action: accept }
`, 'mixed.yaml');
  // the model infers family 4 from icmp, and ruleText() writes `meta nfproto ipv4`
  expect(trace(m, 'wan0', 'tcp', '2001:db8:9::1', '2001:db8:1::2', { dport: 22 }), { verdict: 'drop', by: 'firewall.default (wan → router)' });
  expect(trace(m, 'wan0', 'tcp', '198.51.100.1', '192.0.2.2', { dport: 22 }), { verdict: 'accept', by: 'firewall.rules[0]', name: 'mixed' });
  // family: ipv6 alone is written as `meta nfproto ipv6`
  expect(trace(m, 'wan0', 'udp', '2001:db8:9::1', '2001:db8:1::2', { dport: 53 }), { verdict: 'accept', by: 'firewall.rules[1]', name: 'v6-only' });
  expect(trace(m, 'wan0', 'udp', '198.51.100.1', '192.0.2.2', { dport: 53 }), { verdict: 'drop', by: 'firewall.default (wan → router)' });
});

const NPT = `
version: 1
interfaces:
  wan: { device: wan0, zone: wan, ipv6: 2001:db8:1::2/64, gateway6: fe80::1 }
  lan: { device: lan0, zone: lan, ipv6: fd00:1::1/64 }
firewall:
  policies: [{ from: lan, to: wan, action: accept }]
  rules:
    - { name: web-in, from: wan, to: lan, proto: tcp, port: 443, action: accept }
nat:
  npt: [{ out: wan, inside: fd00:1::/64, outside: 2001:db8:ffff::/64 }]
`;

test('NPTv6: the prefix is swapped both ways, host bits kept', () => {
  const m = compile(NPT, 'npt.yaml');
  const inbound = trace(m, 'wan0', 'tcp', '2001:db8:9::1', '2001:db8:ffff::abcd', { dport: 443 });
  assert.deepEqual(inbound.dnat, { addr: 'fd00:1::abcd', port: 443, path: 'nat.npt[0]', name: 'npt' });
  // no forwards in this site, so no `ct status dnat accept`: the zone rules decide
  expect(inbound, { verdict: 'accept', by: 'firewall.rules[0]', name: 'web-in', oif: 'lan0' });
  expect(trace(m, 'wan0', 'tcp', '2001:db8:9::1', '2001:db8:ffff::abcd', { dport: 22 }), { verdict: 'drop', by: 'firewall.default (wan → lan)' });
  const out = trace(m, 'lan0', 'tcp', 'fd00:1::abcd', '2001:db8:9::1', { dport: 443 });
  expect(out, { verdict: 'accept', by: 'firewall.policies[0]', oif: 'wan0' });
  assert.deepEqual(out.snat, { kind: 'npt', to: '2001:db8:ffff::abcd', path: 'nat.npt[0]' });
});

test('NPTv6 next to a port forward: NPT-translated packets meet the zone policy, forwards are let in', () => {
  const m = compile(`${NPT}  forwards: [{ name: x, from: wan, proto: tcp, port: 8443, destination: "2001:db8:1::2", to: "[fd00:1::5]:22" }]\n`, 'npt-fwd.yaml');
  const r = trace(m, 'wan0', 'tcp', '2001:db8:9::1', '2001:db8:ffff::abcd', { dport: 22 });
  assert.equal(r.dnat?.path, 'nat.npt[0]');
  expect(r, { verdict: 'drop', by: 'firewall.default (wan → lan)' });
  const f = trace(m, 'wan0', 'tcp', '2001:db8:9::1', '2001:db8:1::2', { dport: 8443 });
  assert.equal(f.dnat?.path, 'nat.forwards[0]');
  expect(f, { verdict: 'accept', by: 'nat.forwards' });
});

test('bad packets are TraceInputErrors with a clear message', () => {
  const m = example('home-router');
  const bad = (p: Partial<Packet>, re: RegExp) =>
    assert.throws(() => tracePacket(m, { family: 4, iif: 'enp2s0', proto: 'tcp', src: '10.0.0.50', dst: '10.0.0.1', ...p }), (e: Error) => e instanceof TraceInputError && re.test(e.message));
  bad({ src: '10.0.0.300' }, /source '10\.0\.0\.300' is not an IPv4 or IPv6 address/);
  bad({ dst: 'router' }, /destination 'router'/);
  bad({ dst: '2001:db8::1' }, /must both be IPv4/);
  bad({ dport: 70000 }, /not a port/);
  bad({ proto: 'icmp', dport: 22 }, /icmp has no ports/);
  bad({ proto: 'icmpv6' }, /IPv6's/);
  bad({ state: 'bogus' as Packet['state'] }, /state 'bogus'/);
  assert.throws(() => tracePacket(m, { family: 4, iif: 'enp2s0', proto: 'tcp', src: '10.0.0.50', dst: '10.0.0.1' }, { localAddresses: ['nope'] }), TraceInputError);
});

// --- the command
const kairo = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), 'trace', ...args], { encoding: 'utf8', cwd: root });

test('kairo trace: exit 0 on accept, 3 on drop, with the verdict line', () => {
  const ok = kairo('examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.50', '--dst', '203.0.113.200', '--proto', 'tcp', '--dport', '443');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^verdict: accept by firewall\.policies\[0\] \(forward enp2s0 → ppp0, masquerade\)$/m);
  const drop = kairo('examples/home-router.yaml', '--from', 'wan', '--src', '198.51.100.7', '--dst', '10.0.0.1', '--proto', 'tcp', '--dport', '22');
  assert.equal(drop.status, 3, drop.stderr);
  assert.match(drop.stdout, /^verdict: drop by firewall\.policies\[2\] \(input ppp0\)$/m);
  const fwd = kairo('examples/cloud-nat-instance.yaml', '--from', 'wan', '--src', '198.51.100.7', '--dst', '10.0.0.1', '--proto', 'tcp', '--dport', '8001');
  assert.equal(fwd.status, 0, fwd.stderr);
  assert.match(fwd.stdout, /^verdict: accept by nat\.forwards \(forward eth0 → eth1, dnat to 10\.0\.1\.1:80 by nat\.forwards\[0\] PortMapping\)$/m);
  const ssh = kairo('examples/ipoe-ha-pair.yaml', '--node', 'primergy', '--iif', 'enp0s25', '--src', 'fe80::2', '--dst', 'fe80::1', '--proto', 'tcp', '--dport', '22');
  assert.equal(ssh.status, 0, ssh.stderr);
  assert.match(ssh.stdout, /^verdict: accept by firewall\.rules\[7\] WANv6_LOCAL-60 \(input enp0s25\)$/m);
  const json = kairo('examples/routed-vm-host.yaml', '--iif', 'br11', '--src', '172.30.11.50', '--dst', '9.9.9.9', '--proto', 'udp', '--dport', '53', '--json');
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.deepEqual([parsed.verdict, parsed.oif, parsed.decidedBy.path, parsed.snat.to], ['accept', 'eth0', 'firewall.rules[4]', '203.0.113.48']);
});

test('kairo trace: usage and input errors exit 1 with a message, never a stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.300', '--dst', '10.0.0.1', '--proto', 'tcp'], /--src '10\.0\.0\.300' is not an IPv4 or IPv6 address/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', 'fd00::1', '--proto', 'tcp'], /IPv4 but --dst fd00::1 is IPv6/],
    [['examples/home-router.yaml', '--from', 'dmz', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp'], /no zone 'dmz'/],
    [['examples/home-router.yaml', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp'], /--iif DEVICE or --from ZONE/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcpp'], /--proto 'tcpp' is not one of/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp', '--dport', 'http'], /--dport 'http' is not a port/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp', '--state', 'bogus'], /state 'bogus'/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp', '--node', 'nope'], /no node 'nope'/],
    [['examples/nope.yaml', '--iif', 'enp2s0', '--src', '10.0.0.5', '--dst', '10.0.0.1', '--proto', 'tcp'], /cannot read/],
    [['examples/home-router.yaml', '--iif', 'enp2s0', '--dst', '10.0.0.1', '--proto', 'tcp'], /--src/],
  ];
  for (const [args, re] of cases) {
    const r = kairo(...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+|internal error/);
  }
});

// --- rp_filter: the kernel drops a spoofed source at the routing decision where the site sets it.
test('rp_filter strict: a source that would be routed back out of another interface is dropped; loose only needs a route', () => {
  const site = (mode: string) => compile(`version: 1
interfaces:
  wan: { device: eth0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24, rp-filter: ${mode} }
  dmz: { device: eth2, zone: dmz, ipv4: 10.9.0.1/24 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
`, 'rp.yaml');
  const strict = site('strict');
  // A LAN client using a DMZ address: the route back to 10.9.0.5 leaves by eth2, not eth1.
  expect(trace(strict, 'eth1', 'tcp', '10.9.0.5', '198.51.100.7', { sport: 40000, dport: 443 }), { verdict: 'drop', by: 'interfaces.lan.rp-filter', hook: 'forward' });
  // Its own address passes and meets the lan→wan policy.
  expect(trace(strict, 'eth1', 'tcp', '10.0.0.5', '198.51.100.7', { sport: 40000, dport: 443 }), { verdict: 'accept', by: 'firewall.policies[0]' });
  // Loose: any route back will do (the DMZ address has one).
  expect(trace(site('loose'), 'eth1', 'tcp', '10.9.0.5', '198.51.100.7', { sport: 40000, dport: 443 }), { verdict: 'accept', by: 'firewall.policies[0]' });
  // IPv6 has no rp_filter.
  const r = trace(strict, 'eth1', 'tcp', '2001:db8::5', '2001:db8:1::7', { sport: 40000, dport: 443 });
  assert.notEqual(r.decidedBy.path, 'interfaces.lan.rp-filter');
});
