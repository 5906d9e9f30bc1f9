// The plan without a kernel: a fake target whose `ip` answers with canned output (routes,
// addresses), and directory targets for the summary in the user's terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computePlan, formatPlan, parseLiveRoutes, routeDest } from '../../src/apply/plan.js';
import { apply } from '../../src/apply/transaction.js';
import { Store } from '../../src/apply/store.js';
import { DirTarget, type FileState, type Target } from '../../src/targets/index.js';
import type { Artifact } from '../../src/render/artifact.js';
import type { RunResult } from '../../src/lib/exec.js';
import { compileSite } from '../../src/pipeline.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');
const networkd = (path: string, content: string): Artifact => ({ path: `/etc/systemd/network/${path}`, content, mode: 0o644, owner: 'interfaces', reload: 'networkd' });

/** Files in memory; `ip` answers from a table (argv → stdout); everything else fails as on a box without tables. */
class FakeTarget implements Target {
  readonly kind = 'netns' as const;
  readonly spec = 'fake';
  readonly root = '/fake';
  readonly files = new Map<string, FileState>();
  readonly calls: string[] = [];
  constructor(
    readonly stateDir: string,
    private readonly answers: Record<string, string>,
  ) {}
  hostPath(p: string) {
    return join(this.root, p);
  }
  readFile(p: string) {
    return this.files.get(p);
  }
  writeFile(p: string, content: string, mode: number) {
    this.files.set(p, { content, mode });
  }
  removeFile(p: string) {
    this.files.delete(p);
  }
  exec(cmd: string, args: string[]): RunResult {
    const line = [cmd, ...args].join(' ');
    this.calls.push(line);
    const out = this.answers[line];
    return out === undefined ? { code: 1, stdout: '', stderr: 'not here' } : { code: 0, stdout: out, stderr: '' };
  }
}

test('routeDest writes a destination as `ip route` prints it', () => {
  // networkd files say 198.51.100.11/32, 2001:DB8:5::7/128, 10.9.0.0/16, or (Gateway= alone) default;
  // `ip -j route` prints host routes without their length, IPv6 compressed and lower case.
  assert.equal(routeDest('198.51.100.11/32'), '198.51.100.11');
  assert.equal(routeDest('2001:DB8:5:0::7/128'), '2001:db8:5::7');
  assert.equal(routeDest('10.9.0.0/16'), '10.9.0.0/16');
  assert.equal(routeDest('2001:db8:6:0::/64'), '2001:db8:6::/64');
  assert.equal(routeDest('0.0.0.0/0'), 'default');
  assert.equal(routeDest('::/0'), 'default');
  assert.equal(routeDest('default'), 'default');
  const live = parseLiveRoutes('[{"dst":"198.51.100.11","dev":"br11","scope":"link","flags":[]},{"dst":"default","nexthops":[{"gateway":"192.0.2.1","dev":"a"}]}]', 'not json');
  assert.deepEqual([...live.keys()], ['4 198.51.100.11 dev br11']);
});

test('plan: routes kairo manages that are live but no longer wanted are removals; foreign and kernel routes are not', () => {
  const state = mkdtempSync(join(tmpdir(), 'kairo-plan-'));
  try {
    const br11 = networkd('40-kairo-br11.netdev', '[NetDev]\nName=br11\nKind=bridge\n');
    const br12 = networkd('40-kairo-br12.netdev', '[NetDev]\nName=br12\nKind=bridge\n');
    const net = (dev: string, body: string) => networkd(`50-kairo-${dev}.network`, `[Match]\nName=${dev}\n\n[Network]\n${body}`);
    const liveFiles = [
      br11,
      br12,
      net('br11', 'Address=172.30.11.1/24\nAddress=2001:DB8:1:0::1/64\n\n[Route]\nDestination=198.51.100.11/32\nScope=link\n\n[Route]\nDestination=2001:DB8:5::7/128\n\n[Route]\nDestination=2001:db8:6::/64\n'),
      net('br12', 'Address=172.30.12.1/24\n\n[Route]\nDestination=198.51.100.12/32\nScope=link\n'),
      net('eth0', '[Address]\nAddress=203.0.113.48/32\nPeer=203.0.113.1/32\n\n[Route]\nGateway=203.0.113.1\nGatewayOnLink=yes\n'),
    ];
    const planned = [
      br11,
      net('br11', 'Address=172.30.11.1/24\nAddress=2001:DB8:1:0::1/64\n\n[Route]\nDestination=198.51.100.11/32\nScope=link\n\n[Route]\nDestination=198.51.100.13/32\nScope=link\n\n[Route]\nDestination=2001:DB8:5::7/128\n'),
      net('eth0', '[Address]\nAddress=203.0.113.48/32\nPeer=203.0.113.1/32\n\n[Route]\nGateway=203.0.113.2\nGatewayOnLink=yes\n'),
    ];
    // The generation applied before had one more bridge route whose file someone deleted since;
    // the kernel still has the route, and kairo still manages it.
    const store = new Store(state);
    store.create([...liveFiles, net('br14', 'Address=172.30.14.1/24\n\n[Route]\nDestination=198.51.100.14/32\n')], { site: 's', node: 'r', sysctlBefore: {} });
    store.setCurrent(1);
    // What `ip -j` prints on such a box (checked against iproute2 6.1 on Debian 12): host routes
    // without /32 or /128, `default`, `gateway`; kernel routes for the subnets; a foreign route.
    const target = new FakeTarget(state, {
      'ip -j route show table main': JSON.stringify([
        { dst: 'default', gateway: '203.0.113.1', dev: 'eth0', flags: ['onlink'] },
        { dst: '10.0.0.0/24', dev: 'docker0', protocol: 'kernel', scope: 'link', prefsrc: '10.0.0.1', flags: [] },
        { dst: '172.30.11.0/24', dev: 'br11', protocol: 'kernel', scope: 'link', prefsrc: '172.30.11.1', flags: [] },
        { dst: '198.51.100.11', dev: 'br11', scope: 'link', flags: [] },
        { dst: '198.51.100.12', dev: 'br12', scope: 'link', flags: [] },
        { dst: '198.51.100.14', dev: 'br14', flags: [] },
      ]),
      'ip -j -6 route show table main': JSON.stringify([
        { dst: '2001:db8:1::/64', dev: 'br11', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
        { dst: '2001:db8:5::7', dev: 'br11', metric: 1024, flags: [], pref: 'medium' },
        { dst: '2001:db8:6::/64', dev: 'br11', metric: 1024, flags: [], pref: 'medium' },
        { dst: 'fe80::/64', dev: 'br11', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
      ]),
      'ip -j addr show dev br11': JSON.stringify([{ ifname: 'br11', addr_info: [
        { family: 'inet', local: '172.30.11.1', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: '2001:db8:1::1', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ] }]),
      'ip -j addr show dev eth0': JSON.stringify([{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '203.0.113.48', prefixlen: 32, address: '203.0.113.1', scope: 'global' }] }]),
    });
    for (const f of liveFiles) target.writeFile(f.path, f.content, f.mode);

    const plan = computePlan(target, planned);
    const routes = plan.changes.filter((c) => c.what === 'route' || c.what === 'address').map((c) => `${c.kind} ${c.what} ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    assert.deepEqual(routes, [
      '+ route 198.51.100.13/32 dev br11 scope link',
      '~ route default via 203.0.113.2 dev eth0 onlink (via 203.0.113.1 → 203.0.113.2)',
      '- route 2001:db8:6::/64 dev br11',
      '- route 198.51.100.12/32 dev br12 scope link',
      '- route 198.51.100.14/32 dev br14',
    ]);
    // Addresses written otherwise than ip prints them (2001:DB8:1:0::1/64, a /32 with a peer) are no change.
    assert.ok(!plan.changes.some((c) => c.what === 'address'), JSON.stringify(plan.changes));
    assert.ok(plan.reloads.includes('networkd'));
    const text = formatPlan(plan);
    assert.match(text, /^- route 198\.51\.100\.12\/32 dev br12 scope link$/m);
    assert.match(text, /^- routed host 198\.51\.100\.12 {2}\(on br12\)$/m);
    assert.match(text, /^\+ routed host 198\.51\.100\.13 {2}\(on br11\)$/m);
    assert.ok(!target.calls.some((c) => c.startsWith('ip netns')), 'no namespace without a ruleset to check');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

/** The cloud NAT example with N numbered port forwards, and optionally an edit. */
function natSite(forwards: number[], edit = (t: string) => t) {
  const base = readFileSync(join(examples, 'cloud-nat-instance.yaml'), 'utf8').split('\nlab:\n')[0];
  const lines = forwards.map((i) => `    - { name: web-${String(i).padStart(3, '0')}, from: wan, proto: tcp, port: ${10000 + i}, destination: 10.0.0.1, to: "10.0.1.1:${1000 + i}" }\n`);
  const r = compileSite(edit(base.replace('  forwards:\n', `  forwards:\n${lines.join('')}`)), 'site.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return r.nodes[0].artifacts;
}

test('plan: removing 100 forwards from a large site reads as 100 forwards, by name, without the diff', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-plan-'));
  try {
    const target = new DirTarget(dir);
    const all = Array.from({ length: 300 }, (_, i) => i);
    apply(target, natSite(all), { site: 'cloud-nat', node: 'router' });
    const planned = natSite(all.slice(100), (t) => t.replace('port: 22, action: accept }', 'port: 2222, action: accept }\n    - { name: https, from: wan, to: router, proto: tcp, port: 443, action: accept }'));
    const plan = computePlan(target, planned);
    const text = formatPlan(plan);
    assert.deepEqual(text.split('\n'), [
      '- 100 forwards: web-000, web-001, web-002, … (97 more)',
      '+ rule firewall.rules[https]',
      '~ rule firewall.rules[ssh]',
      '',
      'reload: nftables',
      '',
      'Plan: 1 to add, 1 to change, 100 to destroy.',
      '(--diff shows the differences line by line)',
    ]);
    assert.deepEqual(plan.items.filter((i) => i.what === 'forward').map((i) => i.name), all.slice(0, 100).map((i) => `nat.forwards[web-${String(i).padStart(3, '0')}]`));
    // --diff: the same summary, then every line.
    const full = formatPlan(plan, true);
    assert.ok(full.startsWith(text.split('\n\nreload')[0]));
    assert.match(full, /^Differences, file by file:$/m);
    assert.match(full, /^ {4}-\t{3}10\.0\.0\.1 \. tcp \. 10000 comment "nat\.forwards\[web-000\]" : 10\.0\.1\.1 \. 1000,$/m);
    assert.ok(full.split('\n').length > 200);
    // The file-level changes stay in the plan (and its JSON) as before.
    assert.deepEqual(plan.changes.map((c) => `${c.kind} ${c.what} ${c.name}`), ['~ file /etc/kairo/nftables.nft']);
    assert.deepEqual(computePlan(target, natSite(all)).items, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan: routed hosts, sets, policies and services by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-plan-'));
  try {
    const text = readFileSync(join(examples, 'routed-vm-host.yaml'), 'utf8');
    const compile = (t: string) => {
      const r = compileSite(t, 'site.yaml');
      assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
      return r.nodes[0].artifacts;
    };
    const target = new DirTarget(dir);
    apply(target, compile(text), { site: 'vm-host', node: 'router' });
    const edited = compile(
      text
        .replace(/ {2}br119: .*\n/, '')
        .replace('elements: [192.0.2.112/29, 198.51.100.11, 198.51.100.12, 198.51.100.13]', 'elements: [192.0.2.112/29, 198.51.100.11, 198.51.100.12, 198.51.100.13, 198.51.100.14]')
        .replace('    - { from: vms, to: vms, action: drop }', '    - { from: vms, to: vms, action: reject }')
        .replace(/ {4}- \{ name: vm-to-vm-public.*\n/, ''),
    );
    const boot = edited.find((a) => a.path.endsWith('kairo-boot.service'))!;
    const planned = [...edited.filter((a) => a !== boot), { ...boot, path: '/etc/systemd/system/kairo-other.service' }];
    const lines = formatPlan(computePlan(target, planned)).split('\n');
    for (const want of [
      '- rule firewall.rules[vm-to-vm-public]',
      '~ policy firewall.policies[vms>vms]',
      '~ set sets.public  (+1 −0 elements)',
      '- routed host 192.0.2.119  (on br119)',
      '+ service kairo-other.service',
      '- service kairo-boot.service',
      '- file /etc/systemd/network/40-kairo-br119.netdev',
      '- file /etc/systemd/network/50-kairo-br119.network',
    ]) assert.ok(lines.includes(want), `${want}\n--- in ---\n${lines.join('\n')}`);
    // Guest snippets are for the user, not the router: never in the plan.
    assert.ok(!lines.some((l) => l.includes('/etc/kairo/guests')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan against a directory runs no ip or nft at all: no scratch namespace on this machine', () => {
  // The kernel's listing of a planned ruleset is learnt in a scratch namespace, which only a target
  // with a kernel needs. A dir: target has none: `ip` and `nft` here are stand-ins that log
  // their arguments (and fail), so a namespace made and deleted within the run is seen too.
  const dir = mkdtempSync(join(tmpdir(), 'kairo-plan-'));
  try {
    const bin = join(dir, 'bin');
    const log = join(dir, 'calls.log');
    spawnSync('mkdir', [bin]);
    for (const cmd of ['ip', 'nft']) {
      writeFileSync(join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "${log}"\nexit 1\n`);
      chmodSync(join(bin, cmd), 0o755);
    }
    const root = join(import.meta.dirname, '..', '..');
    const kairo = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const r = kairo('plan', 'examples/home-router.yaml', '--target', `dir:${join(dir, 'out')}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\+ rule firewall\.rules\[ssh-from-lan\]$/m);
    assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'a plan against a directory ran ip or nft');
    // The stand-ins do see a plan against this host (which has a kernel): the check can fail.
    const host = kairo('plan', 'examples/home-router.yaml', '--target', 'host');
    assert.equal(host.status, 0, host.stderr);
    assert.match(readFileSync(log, 'utf8'), /^ip netns add kairo-plan-\d+$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
