// Reads the systemd-networkd files kairo rendered and turns them into `ip` commands, so a netns target
// applies the very files a host would get (a namespace has no networkd of its own). Pure.
// Covers what kairo renders: [NetDev] bridges, [Match] Name, [Link] MTUBytes, [Network] Address,
// Gateway, Bridge, DHCP, [Address] Address+Peer, [Route] Destination/Gateway/GatewayOnLink/Scope/Metric.
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
  /** Bridges to create before anything else. */
  bridges: string[];
  /** ip commands (argument lists, without the leading `ip`), in order. */
  commands: string[][];
  /** Devices that want a DHCPv4 client. */
  dhcp4: string[];
  /** Devices that take router advertisements (SLAAC, default route). */
  acceptRa: string[];
}

export function networkdToIp(artifacts: readonly Artifact[]): NetworkdPlan {
  const plan: NetworkdPlan = { bridges: [], commands: [], dhcp4: [], acceptRa: [] };
  const files = artifacts.filter((a) => a.reload === 'networkd').sort((a, b) => a.path.localeCompare(b.path));
  for (const f of files.filter((x) => x.path.endsWith('.netdev'))) {
    const s = parseIni(f.content);
    const nd = s.find((x) => x.name === 'NetDev');
    if (get(nd, 'Kind') === 'bridge' && get(nd, 'Name')) plan.bridges.push(get(nd, 'Name')!);
  }
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
    for (const a of all(net, 'Address')) plan.commands.push(['addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
    for (const sec of s.filter((x) => x.name === 'Address')) {
      const a = get(sec, 'Address');
      const peer = get(sec, 'Peer');
      if (a) plan.commands.push(['addr', 'add', a, ...(peer ? ['peer', peer] : []), 'dev', dev]);
    }
    const dhcp = get(net, 'DHCP');
    if (dhcp === 'yes' || dhcp === 'ipv4') plan.dhcp4.push(dev);
    if (get(net, 'IPv6AcceptRA') === 'yes') plan.acceptRa.push(dev);
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

interface DeviceState {
  addrs: Map<string, string[]>;
  routes: Map<string, string[]>;
  mtu?: string;
  master?: string;
}

/** Per device: addresses and routes as `ip` argument tails, keyed for comparison. */
function deviceStates(artifacts: readonly Artifact[]): { bridges: Set<string>; devices: Map<string, DeviceState> } {
  const plan = networkdToIp(artifacts);
  const devices = new Map<string, DeviceState>();
  const dev = (name: string) => {
    let d = devices.get(name);
    if (!d) devices.set(name, (d = { addrs: new Map(), routes: new Map() }));
    return d;
  };
  for (const c of plan.commands) {
    const i = c.indexOf('dev');
    const name = c[i + 1];
    if (c[0] === 'addr') dev(name).addrs.set(c.slice(2).join(' '), c.slice(2));
    else if (c[0] === 'route') dev(name).routes.set(c.slice(2).join(' '), c.slice(2));
    else if (c[0] === 'link' && c[3] === 'mtu') dev(c[2]).mtu = c[4];
    else if (c[0] === 'link' && c[3] === 'master') dev(c[2]).master = c[4];
    else if (c[0] === 'link' && c[3] === 'up') dev(c[2]);
  }
  return { bridges: new Set(plan.bridges), devices };
}

/**
 * `ip` commands (argument lists) that take the interfaces from the `before` files to the `after`
 * ones: only what differs. Adds use `replace`, so they are idempotent (the lab may already hold
 * them). Commands whose first element is '-' are removals that may find nothing to remove; the
 * caller runs them without failing on "already gone".
 */
export function networkdDiff(before: readonly Artifact[], after: readonly Artifact[]): string[][] {
  const a = deviceStates(before);
  const b = deviceStates(after);
  const out: string[][] = [];
  for (const br of b.bridges) if (!a.bridges.has(br)) out.push(['link', 'add', br, 'type', 'bridge']);
  const names = new Set([...a.devices.keys(), ...b.devices.keys()]);
  const dels: string[][] = [];
  for (const name of names) {
    const was = a.devices.get(name);
    const now = b.devices.get(name);
    for (const [k, args] of was?.routes ?? []) if (!now?.routes.has(k)) dels.push(['route', 'del', ...args]);
    for (const [k, args] of was?.addrs ?? []) if (!now?.addrs.has(k)) dels.push(['addr', 'del', ...args.filter((x) => x !== 'nodad')]);
    if (!now) continue;
    if (now.mtu && now.mtu !== was?.mtu) out.push(['link', 'set', name, 'mtu', now.mtu]);
    if (now.master && now.master !== was?.master) out.push(['link', 'set', name, 'master', now.master]);
    if (!was) out.push(['link', 'set', name, 'up']);
    // Only what is new: 1 000 unchanged host routes are not touched again.
    for (const [k, args] of now.addrs) if (!was?.addrs.has(k)) out.push(['addr', 'replace', ...args]);
  }
  const routes: string[][] = [];
  for (const [name, d] of b.devices) for (const [k, args] of d.routes) if (!a.devices.get(name)?.routes.has(k)) routes.push(['route', 'replace', ...args]);
  const gone = [...a.bridges].filter((br) => !b.bridges.has(br)).map((br) => ['link', 'del', br]);
  // Deletions first (tolerant), then links and addresses, then routes (their next hops need the addresses).
  return [...dels.map((d) => ['-', ...d]), ...out, ...routes, ...gone.map((d) => ['-', ...d])];
}
