// The systemctl steps between two generations, computed from what the features declare. The
// expectations are read off the two sites (which units each runs, which files changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { nodeServices } from '../../src/render/index.js';
import { repairActions, serviceActions, type ServiceState } from '../../src/apply/services.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');
const home = readFileSync(join(examples, 'home-router.yaml'), 'utf8');

function state(text: string): ServiceState {
  const r = compileSite(text, 'home-router.yaml', { readFile: fileReaderBeside(join(examples, 'home-router.yaml')) });
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return { services: nodeServices(r.nodes[0].model), artifacts: r.nodes[0].artifacts };
}
const steps = (a: ServiceState, b: ServiceState) => serviceActions(a, b).map((x) => `${x.verb} ${x.unit}`.trim());
const nothing: ServiceState = { services: [], artifacts: [] };

test('services: a first apply reloads systemd, enables kairo-boot first, enables and starts the PPPoE, resolver, DHCP and drop log units', () => {
  assert.deepEqual(steps(nothing, state(home)), ['daemon-reload', 'enable kairo-boot.service', 'enable kairo-pppoe-wan.service', 'start kairo-pppoe-wan.service', 'enable kairo-unbound.service', 'start kairo-unbound.service', 'enable kairo-dhcp4.service', 'start kairo-dhcp4.service', 'enable kairo-ulogd.service', 'start kairo-ulogd.service']);
});

test('services: a changed DHCP pool reloads Kea (its leases stay), nothing else', () => {
  const a = state(home);
  const b = state(home.replace('pool: 10.0.0.129-10.0.0.254', 'pool: 10.0.0.100-10.0.0.254'));
  assert.deepEqual(steps(a, b), ['reload-or-restart kairo-dhcp4.service']);
});

test('services: the same site again needs nothing; a changed PPP MTU restarts only the PPPoE unit', () => {
  const a = state(home);
  assert.deepEqual(steps(a, state(home)), []);
  const b = state(home.replace('pppoe: { over: enp1s0,', 'pppoe: { over: enp1s0, mtu: 1454,'));
  assert.deepEqual(steps(a, b), ['restart kairo-pppoe-wan.service']);
  // A firewall-only change touches no unit.
  const c = state(home.replace('port: 22, source: 10.0.0.0/24', 'port: 2222, source: 10.0.0.0/24'));
  assert.deepEqual(steps(a, c), []);
});

test('services: a removed capability is stopped and disabled; the revert brings it back', () => {
  const a = state(home);
  const noPpp = home.replace(/  wan:\n    device: ppp0\n    zone: wan\n    pppoe: .*\n/, '  wan:\n    device: enp1s0\n    zone: wan\n    ipv4: dhcp\n');
  assert.notEqual(noPpp, home);
  const b = state(noPpp);
  assert.deepEqual(steps(a, b), ['stop kairo-pppoe-wan.service', 'disable kairo-pppoe-wan.service', 'daemon-reload']);
  assert.deepEqual(steps(b, a), ['daemon-reload', 'enable kairo-pppoe-wan.service', 'start kairo-pppoe-wan.service']);
});

test('services: a unit gone comes off before its file goes (phase before-files); the rest after the files', () => {
  const a = state(home);
  const noPpp = state(home.replace(/  wan:\n    device: ppp0\n    zone: wan\n    pppoe: .*\n/, '  wan:\n    device: enp1s0\n    zone: wan\n    ipv4: dhcp\n'));
  assert.deepEqual(serviceActions(a, noPpp).map((x) => `${x.phase} ${x.verb}`), ['before-files stop', 'before-files disable', 'after-files daemon-reload']);
  assert.ok(serviceActions(noPpp, a).every((x) => x.phase === 'after-files'));
});

test('services: units disabled or stopped by hand are enabled and started again; a failed one restarted', () => {
  const s = state(home).services;
  const live = new Map([
    ['kairo-boot.service', { enabled: 'disabled', active: 'inactive' }],
    ['kairo-pppoe-wan.service', { enabled: 'enabled', active: 'failed' }],
  ]);
  assert.deepEqual(repairActions(s, live, []).map((x) => `${x.verb} ${x.unit} (${x.why})`), [
    'enable kairo-boot.service (disabled on the target)', // acts at boot only: never started by apply
    'restart kairo-pppoe-wan.service (failed on the target)',
  ]);
  // Nothing twice: a unit the planned steps start already is not started again.
  const planned = serviceActions({ services: [], artifacts: [] }, state(home));
  assert.deepEqual(repairActions(s, new Map([['kairo-pppoe-wan.service', { enabled: 'disabled', active: 'inactive' }]]), planned), []);
  assert.deepEqual(repairActions(s, new Map([['kairo-pppoe-wan.service', { enabled: 'enabled', active: 'active' }]]), []), []);
});
