// The NAT chains as data: what src/features/nat/render.ts prints and src/trace evaluates, so the
// ruleset and the tracer cannot drift apart. Pure.
//
// Forwards are grouped by the devices they arrive on; per group a by-address map, a by-port map
// (any local address), one rule per port range, and the hairpin rules for inside devices. Map keys
// are unique (nft refuses a duplicate element); the first forward with a key wins.
import type { ForwardModel, MasqueradeModel, NatModel, NptModel, NptPdModel, SnatModel } from './model.js';
import { parseAddress, type Family } from '../../lib/ip.js';

export interface MapEntry {
  key: string;
  forward: ForwardModel;
}

export interface ForwardMap {
  name: string;
  /** 'addr': keyed by daddr . proto . port; 'port': keyed by proto . port (any local address). */
  by: 'addr' | 'port';
  entries: Map<string, MapEntry>;
}

/** NPTv6 to a /64 of a delegated prefix: its own chains, filled by the follower once the prefix is known. */
export type NptPd = NptPdModel;

export const nptPdChain = (n: NptPd, dir: 'in' | 'out') => `npt_pd_${n.index}_${dir}`;

export type PreRule =
  | { kind: 'npt'; devices: string[]; n: NptModel }
  | { kind: 'npt-pd'; devices: string[]; n: NptPd }
  | { kind: 'map'; devices: string[]; map: ForwardMap; comment: string }
  | { kind: 'range'; devices: string[]; f: ForwardModel; daddr: string[] | 'local'; comment: string };

export type PostRule =
  | { kind: 'npt-pd'; devices: string[]; n: NptPd }
  | { kind: 'hairpin'; devices: string[]; sources: string[]; targets: string[] }
  | { kind: 'snat'; s: SnatModel }
  | { kind: 'npt'; n: NptModel }
  | { kind: 'masquerade'; mq: MasqueradeModel };

export interface NatPlan {
  family: Family;
  maps: ForwardMap[];
  pre: PreRule[];
  post: PostRule[];
}

const norm = (a: string) => parseAddress(a)?.addr.toString() ?? a;
export const addrKey = (addr: string, proto: string, port: number) => `${norm(addr)} . ${proto} . ${port}`;
export const portKey = (proto: string, port: number) => `${proto} . ${port}`;

function newMap(name: string, by: ForwardMap['by']): ForwardMap {
  return { name, by, entries: new Map() };
}

function put(map: ForwardMap, key: string, f: ForwardModel) {
  if (!map.entries.has(key)) map.entries.set(key, { key, forward: f });
}

export function natPlan(m: NatModel, family: Family): NatPlan {
  const plan: NatPlan = { family, maps: [], pre: [], post: [] };
  interface Group {
    devices: string[];
    byAddr: ForwardMap;
    byPort: ForwardMap;
    hairpinAddr: ForwardMap;
    hairpinPort: ForwardMap;
    inside: Set<string>;
    sources: Set<string>;
    targets: Set<string>;
    ranges: ForwardModel[];
  }
  const groups = new Map<string, Group>();
  for (const f of m.forwards.filter((x) => x.family === family && x.fromDevices.length > 0)) {
    const key = f.fromDevices.join(',');
    let g = groups.get(key);
    if (!g) {
      const n = groups.size;
      g = {
        devices: f.fromDevices, byAddr: newMap(`pf_${n}_addr`, 'addr'), byPort: newMap(`pf_${n}_port`, 'port'),
        hairpinAddr: newMap(`pf_${n}_hairpin_addr`, 'addr'), hairpinPort: newMap(`pf_${n}_hairpin_port`, 'port'),
        inside: new Set(), sources: new Set(), targets: new Set(), ranges: [],
      };
      groups.set(key, g);
    }
    if (f.hairpin) {
      f.hairpin.devices.forEach((d) => g!.inside.add(d));
      f.hairpin.sources.forEach((s) => g!.sources.add(s));
      g.targets.add(f.target.addr.toString());
    }
    if (f.portEnd !== undefined) {
      g.ranges.push(f);
      continue;
    }
    for (const proto of f.protos) {
      if (f.destination) put(g.byAddr, addrKey(f.destination, proto, f.port), f);
      else put(g.byPort, portKey(proto, f.port), f);
      if (!f.hairpin) continue;
      // Only forwards that want hairpin go into the hairpin maps (hairpin: false stays out).
      if (f.hairpin.publicAddresses === 'local') put(g.hairpinPort, portKey(proto, f.port), f);
      else for (const a of f.hairpin.publicAddresses) put(g.hairpinAddr, addrKey(a, proto, f.port), f);
    }
  }
  for (const g of groups.values()) {
    const use = (map: ForwardMap, devices: string[], comment: string) => {
      if (map.entries.size === 0) return;
      plan.maps.push(map);
      plan.pre.push({ kind: 'map', devices, map, comment });
    };
    use(g.byAddr, g.devices, 'nat.forwards by address');
    use(g.byPort, g.devices, 'nat.forwards');
    for (const f of g.ranges) plan.pre.push({ kind: 'range', devices: g.devices, f, daddr: f.destination ? [f.destination] : 'local', comment: f.label });
    const inside = [...g.inside];
    if (inside.length === 0) continue;
    // Hairpin: inside clients that use the public address reach the target too, and are
    // masqueraded so the reply comes back through the router rather than straight from a neighbour.
    use(g.hairpinAddr, inside, 'nat.forwards hairpin');
    use(g.hairpinPort, inside, 'nat.forwards hairpin');
    for (const f of g.ranges.filter((x) => x.hairpin)) {
      plan.pre.push({ kind: 'range', devices: f.hairpin!.devices, f, daddr: f.hairpin!.publicAddresses, comment: `${f.label} hairpin` });
    }
    if (g.sources.size) plan.post.push({ kind: 'hairpin', devices: inside, sources: [...g.sources], targets: [...g.targets] });
  }
  for (const s of m.snat.filter((x) => x.family === family && x.devices.length)) plan.post.push({ kind: 'snat', s });
  if (family === 6) {
    // NPTv6 inbound comes first in prerouting: the whole outside prefix belongs to the inside one.
    const npt = m.npt.filter((x) => x.devices.length);
    const pd = m.nptPd.filter((x) => x.devices.length);
    plan.pre.unshift(...npt.map((n) => ({ kind: 'npt' as const, devices: n.devices, n })), ...pd.map((n) => ({ kind: 'npt-pd' as const, devices: n.devices, n })));
    plan.post.push(...npt.map((n) => ({ kind: 'npt' as const, n })), ...pd.map((n) => ({ kind: 'npt-pd' as const, devices: n.devices, n })));
  }
  for (const mq of m.masquerade.filter((x) => x.family === family && x.devices.length)) plan.post.push({ kind: 'masquerade', mq });
  return plan;
}

/** Target (address . proto . port or port range) of every forward: what the filter lets through after DNAT. */
export function forwardTargets(m: NatModel, family: Family): string[] {
  const out = new Set<string>();
  for (const f of m.forwards.filter((x) => x.family === family)) {
    for (const proto of f.protos) {
      const port = f.portEnd !== undefined ? `${f.port}-${f.portEnd}` : String(f.target.port ?? f.port);
      out.add(`${f.target.addr} . ${proto} . ${port}`);
    }
  }
  return [...out];
}
