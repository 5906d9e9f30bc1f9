// Which kernel features the lab can use on this machine. Probed once, in a throwaway namespace,
// so checks that need a missing feature are reported as skipped with the reason, never passed.
import { run } from '../lib/exec.js';
import { existsSync } from 'node:fs';

export type Feature = 'ip6tnl' | 'ppp' | 'vlan' | 'wireguard';
export type KernelFeatures = Record<Feature, { ok: boolean; reason?: string }>;

export function probeKernelFeatures(): KernelFeatures {
  const ns = `kl-probe-${process.pid}`;
  run('ip', ['netns', 'add', ns]);
  const tryLink = (args: string[]) => run('ip', ['-n', ns, 'link', 'add', ...args]);
  try {
    const tnl = tryLink(['t6', 'type', 'ip6tnl', 'mode', 'ipip6', 'local', '2001:db8::1', 'remote', '2001:db8::2']);
    run('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    const vlan = tryLink(['link', 'v0', 'name', 'v0.10', 'type', 'vlan', 'id', '10']);
    const wg = tryLink(['wg0', 'type', 'wireguard']);
    const ppp = existsSync('/dev/ppp') || run('modprobe', ['-q', 'ppp_generic']).code === 0;
    const why = (r: { code: number; stderr: string }, what: string) => (r.code === 0 ? { ok: true } : { ok: false, reason: `this kernel lacks ${what} (${r.stderr.trim().split('\n')[0]})` });
    return {
      ip6tnl: why(tnl, 'ip6tnl (DS-Lite ipip6 tunnels)'),
      vlan: why(vlan, '802.1q VLANs'),
      wireguard: why(wg, 'wireguard'),
      ppp: ppp ? { ok: true } : { ok: false, reason: 'this kernel lacks PPP (/dev/ppp, ppp_generic)' },
    };
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}
