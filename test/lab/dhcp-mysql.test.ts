// Kea with its leases in MySQL: the lab stands in for the database on the router (real MariaDB),
// Kea's unit creates the schema with kea-admin, and a client's lease is a row in the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { stateDir } from '../../src/lab/run.js';
import { labMac, requestLease } from '../../src/lab/dhcp-probe.js';
import { leasesInDb, localLeaseDb } from '../../src/lab/lease-db.js';
import { have } from '../../src/lib/exec.js';
import { labSkip } from './helpers.js';

const skip = labSkip() || (!have('kea-dhcp4') || !have('kea-admin') || !have('mariadbd') || !have('busybox') ? 'skipped: Kea, kea-admin, MariaDB or busybox is not installed (scripts/setup.sh installs them)' : false);

const site = `version: 1
name: labkeadb
interfaces:
  wan: { device: eth0, zone: wan, ipv4: dhcp }
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24, dhcp: { pool: 10.0.0.100-10.0.0.150, hosts: [{ name: nas, mac: "52:54:00:12:34:56", ipv4: 10.0.0.10 }] } }
dhcp:
  lease-database: { type: mysql, name: kea_leases, user: kea, password: { env: KAIRO_LAB_KEA_DB } }
firewall:
  policies: [{ from: lan, to: wan, action: accept }]
lab:
  checks:
    - { name: a lease from Kea backed by MySQL, from: lan, to: router/dhcp, expect: lease }
    - { name: the reservation, from: lan, to: router/dhcp, mac: "52:54:00:12:34:56", expect: lease 10.0.0.10 }
`;

test('lab: Kea keeps its leases in MySQL (schema made by kea-admin from the unit); a client\'s lease is a row there', { skip }, () => {
  const r = compileSite(site, 'site.yaml', { env: (n) => (n === 'KAIRO_LAB_KEA_DB' ? 'pass w0rd;=x' : undefined) });
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const { plan } = upLab(r, () => {});
  try {
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
    const mac = labMac('kept lease');
    const lease = requestLease(plan.hosts.find((h) => h.role === 'client')!.ns, mac, join(stateDir(plan.prefix), 'udhcpc-print.sh'), false);
    assert.ok(!('error' in lease), JSON.stringify(lease));
    const db = localLeaseDb(plan.routers[0].artifacts)!;
    const rows = leasesInDb(plan.routers[0].ns, join(stateDir(plan.prefix), 'router-mysqld-run'), db);
    assert.ok(rows.some((x) => x.address === lease.ip && x.hwaddr === mac), JSON.stringify(rows));
  } finally {
    labDown(plan.prefix);
  }
});
