// rp_filter, tracer against kernel: a LAN client sends with a source that belongs behind another
// interface. With `rp-filter: strict` the tracer says the kernel drops it at the routing decision,
// with `loose` that it is forwarded; the same rendered sysctl and ruleset are loaded into a router
// namespace and a packet with that source is sent: the host beyond the router counts what arrived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { tracePacket } from '../../src/trace/evaluate.js';
import { have, isRoot, must, run } from '../../src/lib/exec.js';

const skip = !isRoot() ? 'skipped: needs root for network namespaces' : !have('nft') ? 'skipped: nft not installed' : false;
const ns = { r: 'krp-r', c: 'krp-c', d: 'krp-d', w: 'krp-w' };

function site(mode: string) {
  return `version: 1
name: rp
interfaces:
  wan: { device: eth0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24, rp-filter: ${mode} }
  dmz: { device: eth2, zone: dmz, ipv4: 10.9.0.1/24 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
`;
}

function cleanup() {
  for (const n of Object.values(ns)) run('ip', ['netns', 'del', n]);
}

/** Echo requests from 10.9.0.5 that reached the host beyond the router's uplink. */
function arrived(mode: string): number {
  cleanup();
  const result = compileSite(site(mode));
  assert.ok(result.ok);
  const files = new Map(result.nodes[0].artifacts.map((a) => [a.path, a.content]));
  for (const n of Object.values(ns)) must('ip', ['netns', 'add', n]);
  const link = (a: string, devA: string, b: string, devB: string) => {
    must('ip', ['-n', a, 'link', 'add', devA, 'type', 'veth', 'peer', 'name', devB, 'netns', b]);
    must('ip', ['-n', a, 'link', 'set', devA, 'up']);
    must('ip', ['-n', b, 'link', 'set', devB, 'up']);
  };
  link(ns.r, 'eth0', ns.w, 'eth0');
  link(ns.r, 'eth1', ns.c, 'eth0');
  link(ns.r, 'eth2', ns.d, 'eth0');
  for (const [dev, a] of [['eth0', '192.0.2.2/24'], ['eth1', '10.0.0.1/24'], ['eth2', '10.9.0.1/24']]) must('ip', ['-n', ns.r, 'addr', 'add', a, 'dev', dev]);
  must('ip', ['-n', ns.w, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  must('ip', ['-n', ns.w, 'route', 'add', 'default', 'via', '192.0.2.2']);
  must('ip', ['-n', ns.c, 'addr', 'add', '10.0.0.5/24', 'dev', 'eth0']);
  must('ip', ['-n', ns.c, 'addr', 'add', '10.9.0.5/32', 'dev', 'eth0']);
  must('ip', ['-n', ns.c, 'route', 'add', 'default', 'via', '10.0.0.1']);
  // The router gets kairo's rendered sysctl (forwarding, rp_filter) and ruleset.
  must('sysctl', ['-q', '-p', '-'], { netns: ns.r, input: files.get('/etc/kairo/sysctl.conf') });
  must('nft', ['-f', '-'], { netns: ns.r, input: files.get('/etc/kairo/nftables.nft') });
  must('nft', ['-f', '-'], { netns: ns.w, input: 'table ip count {\n chain input {\n  type filter hook input priority 0;\n  ip saddr 10.9.0.5 icmp type echo-request counter\n }\n}\n' });
  run('ping', ['-c', '3', '-i', '0.2', '-W', '1', '-I', '10.9.0.5', '192.0.2.1'], { netns: ns.c, timeoutMs: 5000 });
  const listing = must('nft', ['list', 'table', 'ip', 'count'], { netns: ns.w });
  return Number(/counter packets (\d+)/.exec(listing)?.[1] ?? -1);
}

test('rp_filter: the tracer and the kernel agree on a spoofed source, strict and loose', { skip }, (t) => {
  t.after(cleanup);
  for (const mode of ['strict', 'loose']) {
    const m = compileSite(site(mode)).nodes[0].model;
    const traced = tracePacket(m, { family: 4, iif: 'eth1', proto: 'icmp', icmpType: 'echo-request', src: '10.9.0.5', dst: '192.0.2.1' });
    const n = arrived(mode);
    assert.ok(n >= 0, 'the counter was read');
    assert.equal(traced.verdict === 'accept', n > 0, `${mode}: the tracer says ${traced.verdict} (${traced.decidedBy.path}), the kernel let ${n} packets through`);
    assert.equal(traced.verdict, mode === 'strict' ? 'drop' : 'accept');
  }
});
