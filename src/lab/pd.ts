// DHCPv6 prefix delegation in the lab: Kea on the ISP side delegates prefixes, dhcpcd in the router
// namespace stands in for networkd's DHCPv6 client (it asks for the prefix and numbers the LANs
// with the site's subnet ids), and the rendered follower keeps the firewall's sets current.
// renumber() makes the ISP hand out a prefix from its other pool, as after a reconnect.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { must, run } from '../lib/exec.js';
import { nthAddress, parseCidr } from '../lib/ip.js';
import type { LabPlan } from './plan.js';
import { PD_FOLLOW_PATH } from '../features/prefix-delegation/follower.js';
import { startIn, waitFor } from './run.js';

function keaConfig(plan: LabPlan, dir: string, pool: number): string {
  const d = plan.isp!.dhcp6!;
  const link = parseCidr(d.link)!;
  const pd = parseCidr(d.pdPools[pool])!;
  return JSON.stringify({
    Dhcp6: {
      'interfaces-config': { interfaces: [plan.isp!.dev] },
      'server-id': { type: 'LLT', persist: false },
      'lease-database': { type: 'memfile', persist: false },
      'preferred-lifetime': 3000, 'valid-lifetime': 4000, 'renew-timer': 1000, 'rebind-timer': 2000,
      subnet6: [{
        id: 1, subnet: link.network, interface: plan.isp!.dev,
        pools: [{ pool: `${nthAddress(link, 0x1000)}-${nthAddress(link, 0x1fff)}` }],
        'pd-pools': [{ prefix: pd.addr.toString(), 'prefix-len': pd.prefix, 'delegated-len': d.delegatedLength }],
      }],
      loggers: [{ name: 'kea-dhcp6', output_options: [{ output: join(dir, 'logs', 'kea6.log') }], severity: 'INFO' }],
    },
  });
}

/** The router's address on a device from DHCPv6 (dynamic), or undefined. */
export function dynamicAddress(ns: string, dev: string): string | undefined {
  return /inet6 (\S+)\/\d+ scope global dynamic/.exec(run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev]).stdout)?.[1];
}

function startKea(plan: LabPlan, dir: string, pool: number): void {
  const conf = join(dir, `kea6-${pool}.json`);
  writeFileSync(conf, keaConfig(plan, dir, pool));
  startIn(plan.isp!.ns, join(dir, 'logs', 'kea6.out'), 'env', [`KEA_PIDFILE_DIR=${dir}`, `KEA_LOCKFILE_DIR=${dir}`, 'kea-dhcp6', '-c', conf]);
  waitFor('Kea DHCPv6', () => /:547\s/.test(run('ss', ['-Hlun'], { netns: plan.isp!.ns }).stdout), 8000);
}

function startDhcpcd(plan: LabPlan, dir: string): void {
  for (const r of plan.routers.filter((x) => x.dhcp6)) {
    const d = r.dhcp6!;
    const conf = join(dir, `dhcpcd-${r.node}.conf`);
    const noop = join(dir, 'dhcpcd-hook.sh');
    writeFileSync(noop, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // Only DHCPv6 on the uplink; never the system's hooks (they would write the host's resolv.conf).
    writeFileSync(conf, `noipv4\nipv6only\nnoipv6rs\nscript ${noop}\nduid\ninterface ${d.uplink}\n  ipv6rs\n  ia_na 1\n  ia_pd 2/::/${d.length} ${d.lans.map((l) => `${l.dev}/${l.subnet}/64`).join(' ')}\n`);
    run('rm', ['-f', `/run/dhcpcd/${d.uplink}.pid`]);
    startIn(r.ns, join(dir, 'logs', `dhcpcd-${r.node}.log`), 'dhcpcd', ['-f', conf, '-B', d.uplink]);
    for (const l of d.lans) waitFor(`a delegated prefix on ${r.node}:${l.dev}`, () => Boolean(dynamicAddress(r.ns, l.dev)), 15000);
  }
}

/** ISP route to the delegated pool, and LAN clients numbered from their link's prefix. */
function afterDelegation(plan: LabPlan, pool: number): string[] {
  const r = plan.routers.find((x) => x.dhcp6)!;
  const wanAddr = dynamicAddress(r.ns, r.dhcp6!.uplink)!;
  run('ip', ['-n', plan.isp!.ns, 'route', 'replace', plan.isp!.dhcp6!.pdPools[pool], 'via', wanAddr]);
  const prefixes: string[] = [];
  for (const h of plan.hosts.filter((x) => x.pdLink)) {
    const routerAddr = dynamicAddress(r.ns, h.pdLink!)!;
    const net = parseCidr(`${routerAddr}/64`)!;
    const mine = nthAddress(parseCidr(net.network)!, 0x100).toString();
    run('ip', ['-n', h.ns, '-6', 'addr', 'flush', 'dev', h.link.dev, 'scope', 'global']);
    must('ip', ['-n', h.ns, 'addr', 'add', `${mine}/64`, 'dev', h.link.dev, 'nodad']);
    must('ip', ['-n', h.ns, '-6', 'route', 'replace', 'default', 'via', routerAddr]);
    h.owns = [...h.owns.filter((a) => !a.includes(':')), mine];
    prefixes.push(net.network);
  }
  return prefixes;
}

export function startPrefixDelegation(plan: LabPlan, dir: string, log: (s: string) => void): void {
  if (!plan.isp?.dhcp6 || !plan.routers.some((r) => r.dhcp6)) return;
  startKea(plan, dir, 0);
  startDhcpcd(plan, dir);
  const prefixes = afterDelegation(plan, 0);
  for (const r of plan.routers.filter((x) => x.dhcp6)) {
    startIn(r.ns, join(dir, 'logs', `pd-follow-${r.node}.log`), 'env', [`KAIRO_PD_STATE=${join(dir, 'pd', r.node)}`, 'sh', join(dir, r.node, PD_FOLLOW_PATH)]);
  }
  log(`DHCPv6-PD: Kea delegated from ${plan.isp.dhcp6.pdPools[0]}; LAN prefixes ${prefixes.join(', ')}; the rendered follower keeps the firewall's sets current`);
}

/** The ISP delegates from its other pool (a reconnect): kill Kea and the client, start both again. */
export function renumber(plan: LabPlan, dir: string): string[] {
  for (const ns of [plan.isp!.ns, ...plan.routers.filter((x) => x.dhcp6).map((x) => x.ns)]) {
    for (const pid of run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)) {
      const cmd = run('cat', [`/proc/${pid}/cmdline`]).stdout;
      if (/kea-dhcp6|dhcpcd/.test(cmd)) run('kill', ['-TERM', pid]);
    }
  }
  for (const r of plan.routers.filter((x) => x.dhcp6)) for (const l of r.dhcp6!.lans) waitFor(`the old prefix to go from ${l.dev}`, () => !dynamicAddress(r.ns, l.dev), 8000);
  startKea(plan, dir, 1);
  startDhcpcd(plan, dir);
  return afterDelegation(plan, 1);
}
