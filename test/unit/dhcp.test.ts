// DHCP pools and ids as numbers: the split of one range across a pair, the default pool, subnet
// ids that do not move when the file changes elsewhere, option 121's encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { featureModel } from '../../src/model/build.js';
import { dhcp } from '../../src/features/dhcp/index.js';
import { classlessRoutes } from '../../src/features/dhcp/render.js';
import { derivedSubnetId, parsePool, rangeText, splitRange } from '../../src/features/dhcp/pools.js';
import { parseCidr } from '../../src/lib/ip.js';

const pair = (pool: string) => `version: 1
nodes: { beagle: {}, primergy: {} }
interfaces:
  lan:
    device: eth1
    zone: lan
    ipv4: { beagle: 192.168.2.2/24, primergy: 192.168.2.3/24 }
    dhcp: { pool: ${pool}, router: 192.168.2.1 }
`;

function pools(text: string) {
  const r = compileSite(text, 'site.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return Object.fromEntries(r.nodes.map((n) => [n.node, featureModel(n.model, dhcp)!.links[0].v4!.pools.map(rangeText)]));
}

test('dhcp: one range on a pair is split into disjoint halves, in node order; the router option is the shared address', () => {
  assert.deepEqual(pools(pair('192.168.2.20-192.168.2.189')), { beagle: ['192.168.2.20 - 192.168.2.104'], primergy: ['192.168.2.105 - 192.168.2.189'] });
  const r = compileSite(pair('192.168.2.20-192.168.2.189'), 'site.yaml');
  assert.ok(r.nodes.every((n) => featureModel(n.model, dhcp)!.links[0].v4!.router === '192.168.2.1'));
  // Subnet ids are equal on both nodes, by construction.
  assert.equal(new Set(r.nodes.map((n) => featureModel(n.model, dhcp)!.links[0].v4!.id)).size, 1);
});

test('dhcp: per-node pools are taken as written', () => {
  assert.deepEqual(pools(pair('{ beagle: 192.168.2.20-192.168.2.99, primergy: 192.168.2.100-192.168.2.189 }')), { beagle: ['192.168.2.20 - 192.168.2.99'], primergy: ['192.168.2.100 - 192.168.2.189'] });
});

test('dhcp: the default pool is the upper half without broadcast and router addresses, split on a pair', () => {
  const one = compileSite('version: 1\ninterfaces:\n  lan: { device: eth1, zone: lan, ipv4: 10.0.0.200/24, dhcp: true }\n', 'site.yaml');
  assert.ok(one.ok);
  assert.deepEqual(featureModel(one.nodes[0].model, dhcp)!.links[0].v4!.pools.map(rangeText), ['10.0.0.128 - 10.0.0.199', '10.0.0.201 - 10.0.0.254']);
  const p = pools(pair('192.168.2.128-192.168.2.254').replace('{ pool: 192.168.2.128-192.168.2.254, router: 192.168.2.1 }', '{ router: 192.168.2.1 }'));
  assert.deepEqual(p, { beagle: ['192.168.2.128 - 192.168.2.190'], primergy: ['192.168.2.191 - 192.168.2.254'] });
});

test('dhcp: splitting covers the range exactly, whatever its size and the number of nodes', () => {
  for (const [text, parts] of [['10.0.0.1-10.0.0.1', 2], ['10.0.0.1-10.0.0.100', 3], ['fd00::1-fd00::ffff:ffff:ffff', 2], ['10.0.0.0/16', 5]] as const) {
    const r = parsePool(text);
    assert.ok(typeof r !== 'string');
    const pieces = splitRange(r, parts);
    assert.equal(pieces[0].lo, r.lo);
    assert.equal(pieces.at(-1)!.hi, r.hi);
    for (let i = 1; i < pieces.length; i++) assert.equal(pieces[i].lo, pieces[i - 1].hi + 1n);
  }
});

test('dhcp: subnet ids come from the subnet itself (IPv4: its number; IPv6: a hash), so adding a link renumbers nothing', () => {
  assert.equal(derivedSubnetId(parseCidr('10.0.0.0/24')!), 167772160);
  const v6 = derivedSubnetId(parseCidr('fd00:1::/64')!);
  assert.ok(v6 >= 1 && v6 <= 2 ** 32 - 2);
  assert.equal(derivedSubnetId(parseCidr('fd00:1::/64')!), v6);
  assert.notEqual(derivedSubnetId(parseCidr('fd00:2::/64')!), v6);
});

test('dhcp: option 121 carries the routes and the default route (RFC 3442: clients ignore option 3 then)', () => {
  const hex = classlessRoutes({ routes: [{ to: parseCidr('10.10.0.0/16')!, via: '10.0.0.254' }, { to: parseCidr('192.168.5.0/24')!, via: '10.0.0.253' }], router: '10.0.0.1' } as never);
  assert.equal(hex, '10:0a:0a:0a:00:00:fe:18:c0:a8:05:0a:00:00:fd:00:0a:00:00:01');
});
