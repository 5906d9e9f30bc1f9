// A secret reaches only the file that needs it: the plan, its JSON and diagnostics never show it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { DirTarget } from '../../src/targets/index.js';
import { computePlan, formatPlan } from '../../src/apply/plan.js';

const site = `version: 1
interfaces:
  wan: { device: ppp0, zone: wan, pppoe: { over: eth0, user: me, password: { env: KAIRO_TEST_PPP } } }
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24 }
`;

test('the PPPoE password is in the peer file and nowhere in the plan', () => {
  const r = compileSite(site, 'site.yaml', { env: (n) => (n === 'KAIRO_TEST_PPP' ? 'pa$$w0rd-4711' : undefined) });
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const peer = r.nodes[0].artifacts.find((a) => a.path === '/etc/ppp/peers/kairo-wan')!;
  assert.match(peer.content, /^password "pa\$\$w0rd-4711"$/m);
  assert.equal(peer.mode, 0o600);
  const dir = mkdtempSync(join(tmpdir(), 'kairo-secret-'));
  try {
    const plan = computePlan(new DirTarget(dir), r.nodes[0].artifacts);
    const text = formatPlan(plan) + formatPlan(plan, true) + JSON.stringify(plan);
    assert.ok(plan.changes.some((c) => c.name === '/etc/ppp/peers/kairo-wan' && c.diff === '(sensitive content hidden)'));
    assert.ok(!text.includes('4711'), 'the secret leaked into the plan');
    assert.ok(!JSON.stringify(r.nodes[0].model).includes('4711'), 'the model serialises the secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
