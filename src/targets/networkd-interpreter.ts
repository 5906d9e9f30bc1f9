// Reads what kairo's systemd-networkd files declare, as `ip` argument lists. Pure. Nothing applies
// a router's files this way any more: the lab runs Debian's networkd on them (src/lab/run.ts) and a
// netns target reloads it (src/targets/networkd.ts). What still reads them here, and why:
//  - plan compares what the files declare (addresses, routes) with what the kernel has;
//  - the lab's stand-in guests (containers, VMs; src/lab/plan.ts) are configured from the file
//    kairo renders for the guest, not booted, so their few lines are turned into ip commands
//    (test/unit/networkd.test.ts shows what is read).
// Covers what kairo renders: [Match] Name, [Link] MTUBytes, [Network] Address, Gateway, Bridge,
// [Address] Address+Peer, [Route] Destination/Gateway/GatewayOnLink/Scope/Metric.
import type { Artifact } from '../render/artifact.js';

export type IniSection = { name: string; entries: [string, string][] };

export function parseIni(text: string): IniSection[] {
  const out: IniSection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) out.push({ name: sec[1], entries: [] });
    else if (out.length > 0 && line.includes('=')) {
      const i = line.indexOf('=');
      out[out.length - 1].entries.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

const get = (s: IniSection | undefined, k: string) => s?.entries.find(([key]) => key === k)?.[1];
const all = (s: IniSection | undefined, k: string) => (s?.entries ?? []).filter(([key]) => key === k).map(([, v]) => v);

export interface NetworkdPlan {
  /** ip commands (argument lists, without the leading `ip`), in order. */
  commands: string[][];
}

export function networkdToIp(artifacts: readonly Artifact[]): NetworkdPlan {
  const plan: NetworkdPlan = { commands: [] };
  const files = artifacts.filter((a) => a.reload === 'networkd').sort((a, b) => a.path.localeCompare(b.path));
  const routes: string[][] = [];
  for (const f of files.filter((x) => x.path.endsWith('.network'))) {
    const s = parseIni(f.content);
    const dev = get(s.find((x) => x.name === 'Match'), 'Name');
    if (!dev) continue;
    const net = s.find((x) => x.name === 'Network');
    const mtu = get(s.find((x) => x.name === 'Link'), 'MTUBytes');
    if (mtu) plan.commands.push(['link', 'set', dev, 'mtu', mtu]);
    const master = get(net, 'Bridge');
    if (master) plan.commands.push(['link', 'set', dev, 'master', master]);
    plan.commands.push(['link', 'set', dev, 'up']);
    for (const a of all(net, 'Address')) plan.commands.push(['addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]); // a stand-in guest: no DAD delay
    for (const sec of s.filter((x) => x.name === 'Address')) {
      const a = get(sec, 'Address');
      const peer = get(sec, 'Peer');
      if (a) plan.commands.push(['addr', 'add', a, ...(peer ? ['peer', peer] : []), 'dev', dev]);
    }
    // Routes last: their gateways must be reachable through the addresses above.
    for (const g of all(net, 'Gateway')) routes.push(['route', 'add', 'default', 'via', g, 'dev', dev]);
    for (const sec of s.filter((x) => x.name === 'Route')) {
      const dest = get(sec, 'Destination') ?? 'default';
      const gw = get(sec, 'Gateway');
      const cmd = ['route', 'add', dest];
      if (gw) cmd.push('via', gw);
      cmd.push('dev', dev);
      if (get(sec, 'GatewayOnLink') === 'yes') cmd.push('onlink');
      if (get(sec, 'Scope') === 'link') cmd.push('scope', 'link');
      const metric = get(sec, 'Metric');
      if (metric) cmd.push('metric', metric);
      routes.push(cmd);
    }
  }
  plan.commands.push(...routes);
  return plan;
}
