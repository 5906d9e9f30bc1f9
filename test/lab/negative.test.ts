// The checks can fail: break the site on purpose and the matching check must go red.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { example, labSkip } from './helpers.js';
import { probeKernelFeatures } from '../../src/lab/features.js';

const skip = labSkip();

test('lab: removing a port forward makes its check fail (and only the checks that depend on it)', { skip }, () => {
  const r = example('cloud-nat-instance', (t) => t.replace(/^    - \{ name: PortMapping, .*\n/m, ''));
  assert.equal(r.site!.nat!.forwards!.length, 1, 'the v4 forward is gone');
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    const failed = t.results.filter((x) => x.status === 'fail').map((x) => x.check.name).sort();
    assert.deepEqual(failed, ['PortMapping 8001 reaches the private web server', 'hairpin from the private subnet to the mapped port'], t.table);
  } finally {
    labDown(plan.prefix);
  }
});

test('lab: dropping the masquerade makes the source-address check fail', { skip }, () => {
  const r = example('home-router', (t) => t.replace(/^nat:\n  masquerade:\n    - \{ out: wan, source: 10\.0\.0\.0\/24 \}\n/m, ''));
  assert.equal(r.site!.nat, undefined);
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    const nat = t.results.find((x) => x.check.name === 'LAN reaches the Internet (NAT44)')!;
    assert.equal(nat.status, 'fail', t.table);
    // Without NAT the ISP sees the private address (it routes the LAN back to the router) or nothing.
    assert.doesNotMatch(nat.observed, /saw 192\.0\.2\./);
  } finally {
    labDown(plan.prefix);
  }
});

test('lab: removing a router input rule makes its check fail', { skip }, () => {
  const r = example('vps-nat66-containers', (t) => t.replace(/^    - \{ name: ssh, .*\n/m, ''));
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    const failed = t.results.filter((x) => x.status === 'fail').map((x) => x.check.name);
    assert.deepEqual(failed, ['ssh to the host is open'], t.table);
  } finally {
    labDown(plan.prefix);
  }
});

test('lab: a check that needs a kernel feature this machine lacks is skipped with the reason, never passed', { skip }, () => {
  const features = probeKernelFeatures();
  const missing = (['wireguard', 'ip6tnl', 'ppp', 'vlan'] as const).find((f) => !features[f].ok);
  if (!missing) return; // a kernel with everything runs such checks like any other
  const r = example('home-router', (t) => `${t}    - { name: needs ${missing}, from: lan, to: internet:443/tcp, expect: allow, needs: ${missing} }\n`);
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    const c = t.results.find((x) => x.check.name === `needs ${missing}`)!;
    assert.equal(c.status, 'skip');
    assert.match(c.observed, new RegExp(`^skipped: this kernel lacks`));
    assert.match(t.table, /lab: 18 passed, 0 failed, 1 skipped/);
  } finally {
    labDown(plan.prefix);
  }
});

test('lab: a blocked check passes only when its probe was dropped at the router', { skip }, () => {
  // The ISP has no route to 198.18.0.1: that probe never reaches the router, nothing is tested.
  // The LAN may go out to the Internet; nothing listens on 9999 there: a reset answers from beyond
  // the router, which let the probe through.
  const site = example('home-router', (t) => t.replace('name: home', 'name: blk') +
    '    - { name: never reaches the router, from: internet, to: "198.18.0.1:80/tcp", expect: blocked }\n' +
    '    - { name: let through to a closed port, from: lan, to: "internet:9999/tcp", expect: blocked }\n');
  assert.ok(site.ok, site.diagnostics.map((d) => d.message).join('\n'));
  const { plan } = upLab(site, () => {});
  try {
    const t = testLab(site, plan);
    const never = t.results.find((x) => x.check.name === 'never reaches the router')!;
    assert.equal(never.status, 'fail', t.table);
    assert.match(never.observed, /never reached a router, so nothing was tested/);
    const through = t.results.find((x) => x.check.name === 'let through to a closed port')!;
    assert.equal(through.status, 'fail', t.table);
    assert.match(through.observed, /refused.*the firewall let it through/);
    // The site's own blocked checks still pass, each dropped at the router.
    for (const x of t.results.filter((y) => y.check.expect.kind === 'blocked' && !['never reaches the router', 'let through to a closed port'].includes(y.check.name))) {
      assert.equal(x.status, 'pass', t.table);
      assert.match(x.observed, /dropped at the router/);
    }
  } finally {
    labDown(plan.prefix);
  }
});
