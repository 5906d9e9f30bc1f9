// A real DHCPv4 client (busybox udhcpc) asking the router for a lease from a lab client's link,
// on a macvlan of its own with the MAC the check names (a reservation's) or a made-up one. The
// lease is printed, not configured, and released afterwards, so checks do not use up the pool.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { sandboxArgv } from '../targets/sandbox.js';
import { join } from 'node:path';
import { run } from '../lib/exec.js';

export interface Lease {
  ip: string;
  router: string[];
  dns: string[];
  domain?: string;
  mtu?: string;
  staticroutes?: string;
}

const SCRIPT = `#!/bin/sh
# udhcpc calls this with the event; the lease is in the environment. Print it, configure nothing.
[ "$1" = bound ] && echo "KAIRO-LEASE ip=$ip router=$router dns=$dns domain=$domain mtu=$mtu staticroutes=$staticroutes"
exit 0
`;

// dhcpcd (DHCPv6: addresses and prefix delegation) prints the lease from its hook script; it
// asks without waiting for a router advertisement (noipv6rs) and keeps the lease on exit.
// (dhcpcd clears the environment of its hooks: the output file is written into the script.)
const script6 = (out: string) => `#!/bin/sh
case "$reason" in BOUND6|REBOOT6|RENEW6|REBIND6)
  echo "KAIRO-LEASE6 addr=$new_dhcp6_ia_na1_ia_addr1 prefix=$new_dhcp6_ia_pd1_prefix1 length=$new_dhcp6_ia_pd1_prefix1_length dns=$new_dhcp6_name_servers" >>'${out}' ;;
esac
`;

const conf6 = (script: string, pd: boolean) => `noipv6rs
ipv6only
duid
persistent
nohook resolv.conf
option dhcp6_name_servers
script ${script}
ia_na 1
${pd ? 'ia_pd 2\n' : ''}`;

export function writeDhcpScript(dir: string): string {
  const p = join(dir, 'udhcpc-print.sh');
  writeFileSync(p, SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'dhcpcd-print.sh'), script6(join(dir, 'dhcpcd.out')), { mode: 0o755 });
  writeFileSync(join(dir, 'dhcpcd-na.conf'), conf6(join(dir, 'dhcpcd-print.sh'), false));
  writeFileSync(join(dir, 'dhcpcd-pd.conf'), conf6(join(dir, 'dhcpcd-print.sh'), true));
  return p;
}

export interface Lease6 {
  address?: string;
  prefix?: string;
  dns: string[];
}

/**
 * Asks for a DHCPv6 address (and a delegated prefix when `pd`) on `ns`'s eth0 with `mac`, as a
 * downstream router would. dhcpcd keeps its state in a private /run and /var/lib (the lab's state
 * directory), never in the machine's own.
 */
export function requestLease6(ns: string, mac: string, dir: string, pd: boolean): { lease: Lease6; dev: string } | { error: string } {
  const dev = clientLink(ns, mac, 'd6');
  if (typeof dev !== 'string') return dev;
  const ip = (...a: string[]) => run('ip', ['-n', ns, ...a]);
  const out = join(dir, 'dhcpcd.out');
  writeFileSync(out, '');
  const argv = sandboxArgv({ root: join(dir, 'no-root'), privateRunDirs: ['dhcpcd'], varLib: { upper: join(dir, `dhcpcd-${dev}`), dirs: ['dhcpcd'] } },
    ['dhcpcd', '-f', join(dir, pd ? 'dhcpcd-pd.conf' : 'dhcpcd-na.conf'), '-6', '-1', '-w', '-B', '-t', '8', dev]);
  // Link-local DAD first: a DHCPv6 client sends from its link-local address.
  const linkLocalReady = () => {
    const a = ip('-6', 'addr', 'show', 'dev', dev).stdout;
    return a.includes('scope link') && !a.includes('tentative');
  };
  for (let i = 0; i < 60 && !linkLocalReady(); i++) run('sleep', ['0.05']);
  const r = run(argv[0], argv.slice(1), { netns: ns, timeoutMs: 25_000 });
  const line = readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('KAIRO-LEASE6 '));
  if (!line) return { error: `no DHCPv6 lease (dhcpcd: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ') || 'no output'})` };
  const kv = Object.fromEntries([...line.slice(13).matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
  return { dev, lease: { address: kv.addr || undefined, prefix: kv.prefix ? `${kv.prefix}/${kv.length}` : undefined, dns: (kv.dns ?? '').split(/[ ,]+/).filter(Boolean) } };
}

/** A locally administered unicast MAC, the same for the same check (stable leases in logs). */
export function labMac(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function parseLease(stdout: string): Lease | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('KAIRO-LEASE '));
  if (!line) return undefined;
  const kv = Object.fromEntries([...line.slice(12).matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
  const list = (v?: string) => (v ? v.split(/[ ,]+/).filter(Boolean) : []);
  return { ip: kv.ip, router: list(kv.router), dns: list(kv.dns), domain: kv.domain || undefined, mtu: kv.mtu || undefined, staticroutes: kv.staticroutes || undefined };
}

/** A client interface of its own on `ns`'s eth0 (a macvlan with `mac`), made afresh: its name, or why not. */
function clientLink(ns: string, mac: string, prefix: string): string | { error: string } {
  const dev = `${prefix}${mac.slice(-5).replace(':', '')}`;
  const ip = (...a: string[]) => run('ip', ['-n', ns, ...a]);
  ip('link', 'del', dev);
  const add = ip('link', 'add', dev, 'link', 'eth0', 'address', mac, 'type', 'macvlan', 'mode', 'bridge');
  if (add.code !== 0) return { error: `could not make a client interface: ${add.stderr.trim()}` };
  ip('link', 'set', dev, 'up');
  return dev;
}

/** Asks for a lease on `ns`'s eth0 with `mac`. */
export function requestLease(ns: string, mac: string, script: string, release = true): Lease | { error: string } {
  const dev = clientLink(ns, mac, 'dh');
  if (typeof dev !== 'string') return dev;
  const ip = (...a: string[]) => run('ip', ['-n', ns, ...a]);
  try {
    // -q: quit once bound; -R: release on exit; -n: fail rather than retry for ever.
    const r = run('busybox', ['udhcpc', '-i', dev, '-f', '-q', ...(release ? ['-R'] : []), '-n', '-t', '6', '-T', '1', '-A', '1', '-s', script, '-O', 'mtu', '-O', 'staticroutes', '-O', 'search'], { netns: ns, timeoutMs: 20_000 });
    return parseLease(r.stdout) ?? { error: `no lease (udhcpc: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ') || 'no output'})` };
  } finally {
    ip('link', 'del', dev);
  }
}
