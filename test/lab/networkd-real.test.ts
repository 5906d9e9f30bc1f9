// Debian's real systemd-networkd in a lab namespace: static IPv4+IPv6 addresses and routes appear
// as networkd makes them (routes are `proto static`), an edited file is applied by
// `networkctl reload`, a removed .network is cleaned up, and nothing is left afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { linkStates, networkctl, networkdUnavailable, reloadNetworkd, startNetworkd, stopNetworkd, waitLinks, type RealNetworkd } from '../../src/lab/networkd-real.js';
import { must, run } from '../../src/lib/exec.js';

const NS = `knd-${process.pid}`;
const unavailable = networkdUnavailable();
const skip = unavailable ? `skipped: ${unavailable}` : false;

type Addr = { ifname: string; addr_info: { local: string; prefixlen: number; family: string }[] };
type Route = { dst: string; gateway?: string; dev: string; protocol?: string };
const addrs = (dev: string) => (JSON.parse(must('ip', ['-n', NS, '-j', 'addr', 'show', 'dev', dev])) as Addr[])[0].addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`).sort();
const routes = (family: '-4' | '-6') => JSON.parse(must('ip', ['-n', NS, family, '-j', 'route', 'show'])) as Route[];
const route = (family: '-4' | '-6', dst: string) => routes(family).find((r) => r.dst === dst);
function until(what: string, ok: () => boolean, ms: number): number {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    run('sleep', ['0.01']);
  }
  return Date.now() - t0;
}

const networkA = (v4: string, dest4: string) => `[Match]
Name=va

[Network]
Address=${v4}
Address=2001:db8:1::1/64
LinkLocalAddressing=ipv6
IPv6AcceptRA=no

[Route]
Destination=${dest4}
Gateway=192.0.2.254

[Route]
Destination=2001:db8:99::/48
Gateway=2001:db8:1::fe
`;
const networkB = `[Match]
Name=vb

[Network]
Address=192.0.2.2/24
LinkLocalAddressing=no
`;

test('networkd-real: static addresses and routes, networkctl reload of an edit, a removed .network is cleaned up', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-nd-'));
  chmodSync(dir, 0o755); // networkd reads it as systemd-network
  let nd: RealNetworkd | undefined;
  try {
    must('ip', ['netns', 'add', NS]);
    // Both ends of the veth are ours: duplicate address detection would only add ~2 s.
    must('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    must('ip', ['-n', NS, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    writeFileSync(join(dir, '10-va.network'), networkA('192.0.2.1/24', '198.51.100.0/24'));
    writeFileSync(join(dir, '10-vb.network'), networkB);

    nd = startNetworkd({ ns: NS, configDir: dir, logFile: join(dir, 'log', 'networkd.log') });
    const first = waitLinks(nd, ['va', 'vb']);
    console.log(`networkd-real timing: answering networkctl ${nd.readyMs} ms after spawn; va+vb configured ${first.sinceStartMs} ms after spawn (static IPv4+IPv6, DAD off)`);
    assert.deepEqual(addrs('va'), ['192.0.2.1/24', '2001:db8:1::1/64']);
    assert.deepEqual(addrs('vb'), ['192.0.2.2/24']);
    const r4 = route('-4', '198.51.100.0/24');
    assert.equal(r4?.gateway, '192.0.2.254');
    assert.equal(r4?.protocol, 'static', 'networkd marks its routes proto static');
    assert.equal(route('-6', '2001:db8:99::/48')?.protocol, 'static');
    // networkd runs its own RA client and turns the kernel's off on links it manages.
    assert.equal(must('ip', ['netns', 'exec', NS, 'cat', '/proc/sys/net/ipv6/conf/va/accept_ra']).trim(), '0');
    const va = linkStates(nd).find((l) => l.name === 'va');
    assert.equal(va?.setup, 'configured');
    assert.equal(va?.operational, 'routable');
    assert.match(networkctl(nd, ['status', 'va']).stdout, /Network File: \/etc\/systemd\/network\/10-va\.network/);

    // An edit in place, then reload: the old address and route go, the new ones come.
    writeFileSync(join(dir, '10-va.network'), networkA('192.0.2.11/24', '203.0.113.0/24'));
    const t0 = Date.now();
    reloadNetworkd(nd);
    const reloadMs = Date.now() - t0;
    const appliedMs = until('the edited va', () => addrs('va').includes('192.0.2.11/24') && !addrs('va').includes('192.0.2.1/24') && !!route('-4', '203.0.113.0/24') && !route('-4', '198.51.100.0/24'), 10_000);
    waitLinks(nd, ['va', 'vb']);
    assert.equal(route('-4', '203.0.113.0/24')?.protocol, 'static');
    console.log(`networkd-real timing: networkctl reload ${reloadMs} ms; edit applied ${reloadMs + appliedMs} ms after the reload began`);

    // A removed .network: its address goes, the link is no longer managed.
    unlinkSync(join(dir, '10-vb.network'));
    reloadNetworkd(nd);
    const goneMs = until('vb cleaned up', () => addrs('vb').length === 0, 10_000);
    waitLinks(nd, ['vb'], { states: ['unmanaged'] });
    waitLinks(nd, ['va']);
    console.log(`networkd-real timing: removed .network cleaned up ${goneMs} ms after reload`);

    const pids = [nd.pid, nd.dbusPid];
    stopNetworkd(nd);
    assert.deepEqual(pids.filter((p) => run('kill', ['-0', String(p)]).code === 0 && !/^\d+ \(.*\) Z/.test(run('cat', [`/proc/${p}/stat`]).stdout)), [], 'networkd and its D-Bus are gone');
    assert.equal(run('ip', ['netns', 'pids', NS]).stdout.trim(), '', 'no process is left in the namespace');
  } finally {
    if (nd) stopNetworkd(nd);
    run('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!run('ip', ['netns', 'list']).stdout.includes(NS));
});

test('networkd-real: a link that never comes is reported with networkd\'s state and log', { skip, timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-nd-'));
  chmodSync(dir, 0o755); // networkd reads it as systemd-network
  let nd: RealNetworkd | undefined;
  try {
    must('ip', ['netns', 'add', NS]);
    writeFileSync(join(dir, '10-ghost.network'), '[Match]\nName=ghost0\n\n[Network]\nAddress=192.0.2.1/24\n');
    nd = startNetworkd({ ns: NS, configDir: dir, logFile: join(dir, 'networkd.log') });
    const t0 = Date.now();
    assert.throws(() => waitLinks(nd!, ['ghost0'], { timeoutMs: 500 }), (e: Error) => {
      assert.match(e.message, /timed out after 500 ms/);
      assert.match(e.message, /ghost0: not listed/);
      assert.match(e.message, /--- systemd-networkd log ---/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, 'the wait is bounded');
  } finally {
    if (nd) stopNetworkd(nd);
    run('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
});
