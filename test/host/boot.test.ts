// A real Debian 12 host (systemd as PID 1 under systemd-nspawn, in a network namespace): it boots
// to "running" with systemd-networkd active; a .network written on its disk is configured by
// networkd at the next boot, after a power cycle and after `systemctl reboot`; the disk survives
// both, the cached root does not change, and nothing is left afterwards.
// Skipped without the root (scripts/host-root.sh; built first with KAIRO_HOST_BUILD=1 or CI=true).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/lib/exec.js';
import { HOST_CACHE, HOST_PREFIX, HOST_STATE, NspawnHost, hostTestSkip } from './nspawn.js';

const skip = hostTestSkip();
const NAME = 'boot';
const LAN = `[Match]
Name=lan0

[Network]
Address=192.0.2.10/24
Address=2001:db8:10::10/64
IPv6AcceptRA=no

[Route]
Destination=198.51.100.0/24
Gateway=192.0.2.1
`;

type Addr = { addr_info: { local: string; prefixlen: number }[] };
const leftovers = () => ({
  namespaces: run('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${HOST_PREFIX}${NAME}`)),
  processes: run('ps', ['-eo', 'pid,args']).stdout.split('\n').filter((l) => l.includes(`--machine=${HOST_PREFIX}${NAME}`)),
  cgroups: ['/sys/fs/cgroup/kairo-host', '/sys/fs/cgroup/systemd/kairo-host', '/sys/fs/cgroup/unified/kairo-host'].filter((d) => existsSync(join(d, NAME))),
  state: existsSync(join(HOST_STATE, NAME)),
});

test('host: systemd boots as PID 1 with networkd; a .network on its disk is configured after a power cycle and a reboot', { skip, timeout: 240_000 }, () => {
  const h = NspawnHost.create({ name: NAME, links: ['lan0'] });
  try {
    const b = h.boot();
    console.log(`host timing: boot to "${b.state}" in ${b.ms} ms`);
    assert.equal(b.state, 'running', `failed units: ${b.failed.join(', ')}\n${h.journal(['-b', '-p', 'warning'])}`);
    assert.equal(h.must('cat', ['/proc/1/comm']).trim(), 'systemd');
    assert.equal(h.must('readlink', ['/proc/1/exe']).trim(), '/usr/lib/systemd/systemd');
    assert.equal(h.must('hostname').trim(), NAME);
    assert.equal(h.exec('systemctl', ['is-active', 'systemd-networkd']).stdout.trim(), 'active');
    assert.equal(h.exec('systemctl', ['is-active', 'dbus']).stdout.trim(), 'active');
    // sysctl writes work (SYSTEMD_NSPAWN_API_VFS_WRITABLE=network), and only in the host's namespace.
    assert.equal(h.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']).code, 0);
    assert.equal(h.exec('nft', ['list', 'ruleset']).code, 0, 'nftables works inside');
    // kairo runs inside with the host's node and this checkout.
    assert.equal(h.must('node', ['--version']).trim(), process.version);
    assert.equal(h.must('kairo', ['--version'], { timeoutMs: 60_000 }).trim(), '0.1.0');
    // What kairo's rendered units run (kairo-boot.service, the PPPoE unit) is on this host.
    assert.equal(h.sh('for p in /usr/sbin/nft /usr/sbin/sysctl /usr/sbin/pppd /usr/sbin/ip /bin/sh; do [ -x "$p" ] || echo "missing $p"; done; ls /usr/lib/pppd/*/rp-pppoe.so >/dev/null || echo "missing rp-pppoe.so"').stdout, '');
    // lan0 arrived with the boot; without a .network networkd leaves it alone.
    assert.match(h.must('networkctl', ['list', '--no-legend']), /lan0\s+ether\s+\S+\s+unmanaged/);

    h.writeFile('/etc/systemd/network/10-lan0.network', LAN);
    h.outside(['addr', 'add', '192.0.2.1/24', 'dev', 'lan0']);
    const pc = h.powerCycle();
    const cfg = h.waitConfigured(['lan0']);
    console.log(`host timing: power cycle ${pc.ms} ms (clean stop ${pc.stop.ms} ms, boot ${pc.boot.ms} ms); lan0 configured ${cfg.sinceBootMs} ms after nspawn started`);
    assert.equal(pc.stop.killed, false, 'the clean shutdown finished in time');
    assert.equal(pc.boot.state, 'running');
    const boots = () => h.must('journalctl', ['--list-boots', '--no-pager']).split('\n').filter((l) => /^\s*-?\d+ [0-9a-f]{32} /.test(l)).length;
    const addrs = () => (JSON.parse(h.must('ip', ['-j', 'addr', 'show', 'dev', 'lan0'])) as Addr[])[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    assert.ok(addrs().includes('192.0.2.10/24'), addrs().join(' '));
    assert.ok(addrs().includes('2001:db8:10::10/64'), addrs().join(' '));
    assert.match(h.must('ip', ['route', 'show', '198.51.100.0/24']), /via 192\.0\.2\.1 dev lan0 proto static/);
    assert.match(h.journal(['-b', '-u', 'systemd-networkd']), /lan0: Configuring with \/etc\/systemd\/network\/10-lan0\.network/);
    assert.equal(boots(), 2, 'the journal of the first boot is on the disk');
    // The far end (the switch's bridge keeps its address across the power cycle) reaches the host.
    assert.equal(run('ip', ['netns', 'exec', h.outsideNs, 'ping', '-c', '1', '-W', '2', '192.0.2.10']).code, 0);

    const rb = h.reboot();
    h.waitConfigured(['lan0']);
    console.log(`host timing: systemctl reboot round trip ${rb.ms} ms (boot ${rb.boot.ms} ms)`);
    assert.ok(addrs().includes('192.0.2.10/24'));
    assert.equal(boots(), 3);

    const cut = h.powerCycle({ hard: true });
    h.waitConfigured(['lan0']);
    console.log(`host timing: power cut and boot ${cut.ms} ms`);
    assert.equal(cut.stop.killed, true);
    assert.equal(h.readFile('/etc/systemd/network/10-lan0.network'), LAN, 'the disk survives a power cut');
    h.stop();
    assert.equal(h.readFile('/etc/systemd/network/10-lan0.network'), LAN, 'the stopped disk can be read');
    assert.equal(run('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === h.ns), false, 'a stopped host has no network namespace');
  } finally {
    h.destroy();
  }
  assert.deepEqual(leftovers(), { namespaces: [], processes: [], cgroups: [], state: false });
  assert.ok(!existsSync(join(HOST_CACHE, 'root', 'etc/systemd/network/10-lan0.network')), 'the cached root is never written');
});

test('host: a new host starts from the pristine root; a file written on the stopped disk is there at boot', { skip, timeout: 120_000 }, () => {
  const h = NspawnHost.create({ name: NAME });
  try {
    assert.equal(h.readFile('/etc/systemd/network/10-lan0.network'), undefined, 'nothing of the earlier host');
    h.writeFile('/etc/kairo/marker', 'before the first boot\n');
    const b = h.boot();
    assert.equal(b.state, 'running', b.failed.join(', '));
    assert.equal(h.readFile('/etc/kairo/marker'), 'before the first boot\n');
    // Each host has its own machine-id, stable across its boots.
    const id = h.must('cat', ['/etc/machine-id']).trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    h.powerCycle();
    assert.equal(h.must('cat', ['/etc/machine-id']).trim(), id);
  } finally {
    h.destroy();
  }
  assert.deepEqual(leftovers(), { namespaces: [], processes: [], cgroups: [], state: false });
});

test('host: two hosts run side by side, each in its own cgroup; stopping one leaves the other running', { skip, timeout: 120_000 }, () => {
  const a = NspawnHost.create({ name: NAME, links: ['lan0'] });
  const b = NspawnHost.create({ name: `${NAME}2`, links: ['lan0'] });
  try {
    a.boot();
    b.boot();
    assert.notEqual(a.must('cat', ['/etc/machine-id']), b.must('cat', ['/etc/machine-id']));
    assert.match(readFileSync(`/proc/${a.pid1}/cgroup`, 'utf8'), new RegExp(`kairo-host/${NAME}/payload`));
    assert.match(readFileSync(`/proc/${b.pid1}/cgroup`, 'utf8'), new RegExp(`kairo-host/${NAME}2/payload`));
    assert.equal(a.stop().killed, false);
    assert.equal(b.exec('systemctl', ['is-system-running']).stdout.trim(), 'running');
    assert.ok(b.must('ip', ['-br', 'link']).includes('lan0'));
  } finally {
    a.destroy();
    b.destroy();
  }
  assert.deepEqual(leftovers(), { namespaces: [], processes: [], cgroups: [], state: false });
});
