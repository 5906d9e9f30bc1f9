// DHCP with real Kea in the router namespace and real clients: a DHCPv4 lease from the pool with
// the site's options, a reservation's fixed address, a DHCPv6 address and a delegated prefix the
// router then routes to the client; and the checks go red when the server is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { stateDir } from '../../src/lab/run.js';
import { have, run } from '../../src/lib/exec.js';
import { labSkip, root } from './helpers.js';

const skip = labSkip() || (!have('kea-dhcp4') || !have('kea-dhcp6') || !have('dhcpcd') || !have('busybox') ? 'skipped: Kea, dhcpcd or busybox is not installed (scripts/setup.sh installs them)' : false);

const golden = readFileSync(join(root, 'test', 'golden', 'dhcp.case'), 'utf8').split('=== site.yaml\n')[1].split('\n=== ')[0];
const site = `${golden.replace('name: dhcp', 'name: labdhcp')}\nlab:
  checks:
    - { name: a client gets a lease with the link's options, from: lan, to: router/dhcp, expect: lease }
    - { name: the reserved MAC gets its address, from: lan, to: router/dhcp, mac: "52:54:00:12:34:56", expect: lease 10.0.0.10 }
    - { name: a downstream router gets an address and a delegated prefix, from: lan, family: ipv6, to: router/dhcp, expect: lease }
`;

test('lab: real Kea leases IPv4 (pool, reservation, options) and IPv6 (address, delegated prefix routed to the client)', { skip }, () => {
  const r = compileSite(site, 'site.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
    assert.equal(t.results.filter((x) => x.status === 'pass').length, 3, t.table);
    assert.match(t.results[0].observed, /got 10\.0\.0\.1\d\d, router 10\.0\.0\.1, dns 10\.0\.0\.1, domain home\.arpa/);
    assert.match(t.results[2].observed, /prefix fd00:100:[0-9a-f:]*\/56.*routes it/);
    // Kea's lease file is where the unit keeps it (/var/lib/kairo/kea), which the lab keeps in its state directory.
    const leases = readFileSync(join(stateDir(plan.prefix), 'router-var', 'upper', 'kairo', 'kea', 'dhcp4.leases'), 'utf8');
    assert.match(leases, /52:54:00:12:34:56/);

    // Kea stopped: no lease, and the checks say so.
    for (const pid of run('ip', ['netns', 'pids', plan.routers[0].ns]).stdout.split(/\s+/).filter(Boolean)) {
      if (/kea-dhcp[46]/.test(run('cat', [`/proc/${pid}/cmdline`]).stdout)) run('kill', ['-TERM', pid]);
    }
    run('sleep', ['0.5']);
    const after = testLab(r, plan);
    assert.equal(after.failed, 3, after.table);
    assert.match(after.results[0].observed, /no lease/);
  } finally {
    labDown(plan.prefix);
  }
});
