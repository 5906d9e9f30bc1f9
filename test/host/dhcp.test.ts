// Kea (with unbound and the exporter beside it) on a real systemd host (systemd-nspawn, systemd
// as PID 1), as a user runs kairo: apply starts kairo-dhcp4.service (after Kea's own check of the file), a LAN client gets a lease; a
// changed pool reloads Kea without a restart (same main PID) and the client keeps its address on
// renewal (the lease survived); after a reboot the unit is up again and the lease still there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { must, run } from '../../src/lib/exec.js';
import { labMac, requestLease, writeDhcpScript } from '../../src/lab/dhcp-probe.js';
import { NspawnHost, hostTestSkip } from './nspawn.js';

const skip = hostTestSkip();
const NAME = 'dhcp';
const SITE = '/etc/kairo/site.yaml';
const CLIENT_NS = `kh-${NAME}-c`;
const STATE = `/run/kairo-host/${NAME}-client`;
let h: NspawnHost;
let script: string;

const site = (pool: string) => `version: 1
name: hostdhcp
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }
  lan: { device: lan0, zone: lan, ipv4: 10.0.0.1/24, dhcp: { pool: ${pool}, domain: home.arpa } }
dns: true
metrics: { on: [lan] }
firewall:
  default: drop
  policies:
    - { from: lan, to: wan, action: accept }
    - { from: wan, to: router, action: drop }
`;

function kairo(args: string[]): string {
  const r = h.exec('kairo', args, { timeoutMs: 120_000 });
  if (r.code !== 0) assert.fail(`kairo ${args.join(' ')} (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}
const mainPid = () => h.must('systemctl', ['show', '-p', 'MainPID', '--value', 'kairo-dhcp4.service']).trim();
const active = () => h.exec('systemctl', ['is-active', 'kairo-dhcp4.service']).stdout.trim();

function waitActive(): void {
  for (let i = 0; i < 100 && active() !== 'active'; i++) run('sleep', ['0.1']);
  assert.equal(active(), 'active', h.journal(['-b', '-u', 'kairo-dhcp4.service', '--no-pager']).slice(-3000));
}

function lease(mac: string) {
  // Kea listens once the unit is active and lan0 is up; a client may need a retry after a boot.
  let l = requestLease(CLIENT_NS, mac, script);
  for (let i = 0; i < 3 && 'error' in l; i++) l = requestLease(CLIENT_NS, mac, script);
  return l;
}

before(() => {
  if (skip) return;
  h = NspawnHost.create({ name: NAME, links: ['wan0', 'lan0'] });
  h.outside(['addr', 'add', '192.0.2.1/24', 'dev', 'wan0']);
  run('ip', ['netns', 'del', CLIENT_NS]);
  must('ip', ['netns', 'add', CLIENT_NS]);
  must('ip', ['-n', h.outsideNs, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLIENT_NS]);
  must('ip', ['-n', h.outsideNs, 'link', 'set', 'c0', 'master', 'lan0', 'up']);
  for (const args of [['link', 'set', 'lo', 'up'], ['link', 'set', 'eth0', 'up']]) must('ip', ['-n', CLIENT_NS, ...args]);
  mkdirSync(STATE, { recursive: true });
  script = writeDhcpScript(STATE);
  h.boot();
});

after(() => {
  if (skip) return;
  run('ip', ['netns', 'del', CLIENT_NS]);
  h?.destroy();
});

test('host: Kea under systemd leases; a changed pool reloads it (same PID) and the lease survives, also a reboot', { skip, timeout: 300_000 }, () => {
  h.writeFile(SITE, site('10.0.0.100-10.0.0.199'));
  const out = kairo(['apply', SITE]);
  assert.match(out, /kea-dhcp4 -t \/etc\/kairo\/kea\/dhcp4\.json: accepted/);
  waitActive();
  // The resolver and the exporter under systemd too: active, the exporter answering on the LAN address.
  for (const u of ['kairo-unbound.service', 'kairo-exporter.service']) {
    for (let i = 0; i < 100 && h.exec('systemctl', ['is-active', u]).stdout.trim() !== 'active'; i++) run('sleep', ['0.1']);
    assert.equal(h.exec('systemctl', ['is-active', u]).stdout.trim(), 'active', h.journal(['-b', '-u', u, '--no-pager']).slice(-2000));
  }
  const scrape = () => h.exec('/usr/local/bin/node', ['-e', 'fetch("http://10.0.0.1:9838/metrics").then((r) => r.text()).then((t) => console.log(t)).catch((e) => console.log("failed: " + e))']).stdout;
  let metrics = scrape();
  for (let i = 0; i < 50 && !metrics.includes('kairo_service_up'); i++) run('sleep', ['0.2']), (metrics = scrape());
  assert.match(metrics, /^kairo_service_up\{unit="kairo-dhcp4.service"\} 1$/m);
  assert.match(metrics, /^kairo_dns_queries_total \d+$/m);
  const mac = labMac('host dhcp');
  const first = lease(mac);
  assert.ok(!('error' in first), JSON.stringify(first));
  assert.match(first.ip, /^10\.0\.0\.1\d\d$/);
  assert.equal(first.router[0], '10.0.0.1');
  assert.equal(first.domain, 'home.arpa');

  // A wider pool: the file changes, Kea rereads it (reload), its process and its leases stay.
  const pid = mainPid();
  h.writeFile(SITE, site('10.0.0.50-10.0.0.199'));
  const out2 = kairo(['apply', SITE]);
  assert.match(out2, /reload-or-restart kairo-dhcp4\.service/);
  waitActive();
  assert.equal(mainPid(), pid, 'Kea was reloaded, not restarted');
  const again = lease(mac);
  assert.ok(!('error' in again), JSON.stringify(again));
  assert.equal(again.ip, first.ip, 'the client keeps its address');

  // After a reboot: the unit is enabled, Kea starts once lan0 exists, the lease is still on disk.
  h.reboot(60_000);
  waitActive();
  const afterBoot = lease(mac);
  assert.ok(!('error' in afterBoot), JSON.stringify(afterBoot));
  assert.equal(afterBoot.ip, first.ip);
  assert.match(h.must('cat', ['/var/lib/kairo/kea/dhcp4.leases']), new RegExp(first.ip.replaceAll('.', '\\.')));
});

