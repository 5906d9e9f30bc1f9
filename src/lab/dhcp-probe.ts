// A real DHCPv4 client (busybox udhcpc) asking the router for a lease from a lab client's link,
// on a macvlan of its own with the MAC the check names (a reservation's) or a made-up one. The
// lease is printed, not configured, and released afterwards, so checks do not use up the pool.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
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

export function writeDhcpScript(dir: string): string {
  const p = join(dir, 'udhcpc-print.sh');
  writeFileSync(p, SCRIPT, { mode: 0o755 });
  return p;
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

/** Asks for a lease on `ns`'s eth0 with `mac`. */
export function requestLease(ns: string, mac: string, script: string): Lease | { error: string } {
  const dev = `dh${mac.slice(-5).replace(':', '')}`;
  const ip = (...a: string[]) => run('ip', ['-n', ns, ...a]);
  ip('link', 'del', dev);
  const add = ip('link', 'add', dev, 'link', 'eth0', 'address', mac, 'type', 'macvlan', 'mode', 'bridge');
  if (add.code !== 0) return { error: `could not make a client interface: ${add.stderr.trim()}` };
  ip('link', 'set', dev, 'up');
  try {
    // -q: quit once bound; -R: release on exit; -n: fail rather than retry for ever.
    const r = run('busybox', ['udhcpc', '-i', dev, '-f', '-q', '-R', '-n', '-t', '6', '-T', '1', '-A', '1', '-s', script, '-O', 'mtu', '-O', 'staticroutes', '-O', 'search'], { netns: ns, timeoutMs: 20_000 });
    return parseLease(r.stdout) ?? { error: `no lease (udhcpc: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ') || 'no output'})` };
  } finally {
    ip('link', 'del', dev);
  }
}
