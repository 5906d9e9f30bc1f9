// Two parts of a site writing the same file would silently lose one of them: compileSite refuses
// it. No valid site reaches it today (verify keeps devices, tunnels and carriers apart), so the
// guard is tested on a rendered node with a second owner added by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite, pathClashes } from '../../src/pipeline.js';

test('a file written twice on a node is an error naming both owners', () => {
  const r = compileSite('version: 1\ninterfaces:\n  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24 }\n', 'site.yaml');
  assert.ok(r.ok);
  assert.deepEqual(pathClashes(r.nodes, 'site.yaml'), []);
  const n = r.nodes[0];
  const nft = n.artifacts.find((a) => a.path === '/etc/kairo/nftables.nft')!;
  const d = pathClashes([{ ...n, artifacts: [...n.artifacts, { ...nft, owner: 'other' }] }], 'site.yaml');
  assert.equal(d.length, 1);
  assert.equal(d[0].code, 'render.path-clash');
  assert.match(d[0].message, /\/etc\/kairo\/nftables\.nft is written twice on node router \(by firewall and by other\)/);
});
