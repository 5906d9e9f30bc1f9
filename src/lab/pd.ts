// DHCPv6 prefix delegation in the lab: Kea on the ISP side delegates prefixes, the router's own
// systemd-networkd asks for one and numbers the LANs with the site's subnet ids (its rendered
// [DHCPv6] and [DHCPPrefixDelegation] sections), and the rendered follower keeps the firewall's
// sets current. renumber() makes the ISP hand out a prefix from its other pool, as after a reconnect.
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { must, run } from '../lib/exec.js';
import { nthAddress, parseCidr } from '../lib/ip.js';
import type { LabPlan } from './plan.js';
import { PD_FOLLOW_PATH } from '../features/prefix-delegation/follower.js';
import { startIn, waitFor } from './run.js';
import { networkctlOf, networkdPidIn, waitLinks } from '../targets/networkd.js';

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

/** The router's address on a device from DHCPv6 or the delegation (dynamic: it has lifetimes), or
 * undefined. networkd numbers a delegated LAN by EUI-64 and adds it with a metric (`… metric 256 scope global dynamic`). */
export function dynamicAddress(ns: string, dev: string): string | undefined {
  return /inet6 (\S+)\/\d+ (?:metric \d+ )?scope global dynamic/.exec(run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev]).stdout)?.[1];
}

function startKea(plan: LabPlan, dir: string, pool: number): void {
  const conf = join(dir, `kea6-${pool}.json`);
  writeFileSync(conf, keaConfig(plan, dir, pool));
  startIn(plan.isp!.ns, join(dir, 'logs', 'kea6.out'), 'env', [`KEA_PIDFILE_DIR=${dir}`, `KEA_LOCKFILE_DIR=${dir}`, 'kea-dhcp6', '-c', conf]);
  waitFor('Kea DHCPv6', () => /:547\s/.test(run('ss', ['-Hlun'], { netns: plan.isp!.ns }).stdout), 8000);
}

/** Waits for networkd to number every delegated LAN (its address there is the dynamic one). */
function waitDelegated(plan: LabPlan, what: (ns: string, dev: string) => boolean, label: string): void {
  for (const r of plan.routers.filter((x) => x.dhcp6)) for (const l of r.dhcp6!.lans) waitFor(`${label} on ${r.node}:${l.dev}`, () => what(r.ns, l.dev), 15000);
}

/** ISP route to the delegated pool, and LAN clients numbered from their link's prefix. */
function afterDelegation(plan: LabPlan, pool: number): string[] {
  const r = plan.routers.find((x) => x.dhcp6)!;
  const wanAddr = dynamicAddress(r.ns, r.dhcp6!.uplink);
  if (!wanAddr) throw new Error(`lab: no DHCPv6 address on ${r.node}:${r.dhcp6!.uplink}`);
  must('ip', ['-n', plan.isp!.ns, 'route', 'replace', plan.isp!.dhcp6!.pdPools[pool], 'via', wanAddr]);
  const prefixes: string[] = [];
  for (const h of plan.hosts.filter((x) => x.pdLink)) {
    const routerAddr = dynamicAddress(r.ns, h.pdLink!)!;
    const net = parseCidr(`${routerAddr}/64`)!;
    const mine = nthAddress(parseCidr(net.network)!, 0x100).toString();
    // Only the lab's own (permanent) address: one the client formed by SLAAC is the router's to withdraw.
    run('ip', ['-n', h.ns, '-6', 'addr', 'flush', 'dev', h.link.dev, 'scope', 'global', 'permanent']);
    must('ip', ['-n', h.ns, 'addr', 'add', `${mine}/64`, 'dev', h.link.dev, 'nodad']);
    must('ip', ['-n', h.ns, '-6', 'route', 'replace', 'default', 'via', routerAddr]);
    h.owns = [...h.owns.filter((a) => !a.includes(':')), mine];
    prefixes.push(net.network);
  }
  return prefixes;
}

/** Kea on the ISP side, before the routers' networkd asks it. */
export function startPdServer(plan: LabPlan, dir: string): void {
  if (plan.isp?.dhcp6 && plan.routers.some((r) => r.dhcp6)) startKea(plan, dir, 0);
}

/** Once networkd has the delegation: the ISP's route to it, the LAN clients' addresses, the follower. */
export function followDelegation(plan: LabPlan, dir: string, log: (s: string) => void): void {
  if (!plan.isp?.dhcp6 || !plan.routers.some((r) => r.dhcp6)) return;
  waitDelegated(plan, (ns, dev) => Boolean(dynamicAddress(ns, dev)), 'a delegated prefix');
  const prefixes = afterDelegation(plan, 0);
  for (const r of plan.routers.filter((x) => x.dhcp6)) {
    // KAIRO_ROOT: the router's rendered files (the RA sender the follower calls) are under the lab's directory.
    startIn(r.ns, join(dir, 'logs', `pd-follow-${r.node}.log`), 'env', [`KAIRO_PD_STATE=${join(dir, 'pd', r.node)}`, `KAIRO_ROOT=${join(dir, r.node)}`, 'sh', join(dir, r.node, PD_FOLLOW_PATH)]);
  }
  log(`DHCPv6-PD: Kea delegated from ${plan.isp.dhcp6.pdPools[0]} to networkd; LAN prefixes ${prefixes.join(', ')}; the rendered follower keeps the firewall's sets current`);
}

/**
 * The ISP delegates from its other pool, as after a reconnect: Kea starts again with the other
 * pool, and `networkctl reconfigure` of the uplink makes networkd drop its lease and solicit anew.
 */
export function renumber(plan: LabPlan, dir: string): string[] {
  for (const pid of run('ip', ['netns', 'pids', plan.isp!.ns]).stdout.split(/\s+/).filter(Boolean)) {
    if (/kea-dhcp6/.test(run('cat', [`/proc/${pid}/cmdline`]).stdout)) run('kill', ['-TERM', pid]);
  }
  waitFor('Kea to stop', () => !/:547\s/.test(run('ss', ['-Hlun'], { netns: plan.isp!.ns }).stdout), 8000);
  const old = new Map(plan.routers.filter((x) => x.dhcp6).flatMap((r) => r.dhcp6!.lans.map((l) => [`${r.ns} ${l.dev}`, dynamicAddress(r.ns, l.dev)])));
  startKea(plan, dir, 1);
  for (const r of plan.routers.filter((x) => x.dhcp6)) {
    const pid = networkdPidIn(r.ns);
    if (!pid) throw new Error(`lab: no systemd-networkd in ${r.ns}`);
    const res = networkctlOf(pid)(['reconfigure', r.dhcp6!.uplink]);
    if (res.code !== 0) throw new Error(`lab: networkctl reconfigure ${r.dhcp6!.uplink}: ${res.stderr.trim()}`);
  }
  waitDelegated(plan, (ns, dev) => { const a = dynamicAddress(ns, dev); return Boolean(a) && a !== old.get(`${ns} ${dev}`); }, 'the new prefix');
  // The reconfigured uplink also lost its RA default route and its DHCPv6 address: wait until
  // networkd has them back (a fresh RA, duplicate address detection) before traffic is tried.
  for (const r of plan.routers.filter((x) => x.dhcp6)) {
    const pid = networkdPidIn(r.ns)!;
    waitLinks(networkctlOf(pid), [r.dhcp6!.uplink, ...r.dhcp6!.lans.map((l) => l.dev)], { timeoutMs: 15_000, alive: () => existsSync(`/proc/${pid}`) });
    waitFor(`a DHCPv6 address on ${r.node}:${r.dhcp6!.uplink}`, () => Boolean(dynamicAddress(r.ns, r.dhcp6!.uplink)), 8000);
  }
  return afterDelegation(plan, 1);
}
