// Evaluation of the nat tables (`ip kairo_nat`, `ip6 kairo_nat`). The rules come from the same
// NAT plan the renderer prints (src/features/nat/plan.ts), so the two cannot drift apart. The
// first NAT statement that applies ends the chain; a map lookup that misses does not.
import type { NodeModel } from '../model/types.js';
import type { ForwardModel } from '../features/nat/model.js';
import { nat as natFeature } from '../features/nat/index.js';
import { featureModel } from '../model/build.js';
import { contains, type Addr, type Family } from '../lib/ip.js';
import { addrKey, natPlan, portKey, type PostRule, type PreRule } from '../features/nat/plan.js';
import { inElements, mapPrefix, sameAddr } from './match.js';
import type { Flow, TraceResult, TraceStep } from './types.js';

interface Tables {
  pre: PreRule[];
  post: PostRule[];
}

function build(m: NodeModel, family: Family): Tables {
  const nat = featureModel(m, natFeature);
  if (!nat) return { pre: [], post: [] };
  const plan = natPlan(nat, family);
  return { pre: plan.pre, post: plan.post };
}

/** A site with 10 000 forwards is grouped once per model and family, not once per traced packet. */
const built = new WeakMap<NodeModel, Map<Family, Tables>>();
function tables(m: NodeModel, family: Family): Tables {
  let byFam = built.get(m);
  if (!byFam) built.set(m, (byFam = new Map()));
  let t = byFam.get(family);
  if (!t) byFam.set(family, (t = build(m, family)));
  return t;
}

export function natTable(family: Family): string {
  return family === 4 ? 'ip kairo_nat' : 'ip6 kairo_nat';
}

const isPortProto = (p: string) => p === 'tcp' || p === 'udp';

/**
 * Prerouting: may rewrite flow.dst / flow.dport. `local` says whether an address is the router's
 * own (`fib daddr type local`). Returns what rewrote the destination, if anything.
 */
export function prerouting(m: NodeModel, flow: Flow, local: (a: Addr) => string | undefined, steps: TraceStep[]): TraceResult['dnat'] {
  const table = natTable(flow.family);
  const step = (text: string, extra: Partial<TraceStep> = {}) => steps.push({ table, chain: 'prerouting', text, ...extra });
  if (flow.state !== 'new') {
    step(`not traversed: only the first packet of a connection (ct state new) passes the nat chains; a ${flow.state} packet keeps the mapping conntrack stored, which an offline trace does not know`);
    return undefined;
  }
  const { pkt } = flow;
  const proto = pkt.proto;
  for (const r of tables(m, flow.family).pre) {
    if (!r.devices.includes(pkt.iif)) continue;
    if (r.kind === 'npt') {
      if (!contains(r.n.outside, flow.dst)) continue;
      const from = flow.dst.toString();
      flow.dst = mapPrefix(flow.dst, r.n.inside);
      flow.dnatted = true;
      step(`iifname "${pkt.iif}" ip6 daddr ${r.n.outside.network} dnat ip6 prefix to ${r.n.inside.network}: ${from} → ${flow.dst}`, { path: r.n.path, verdict: 'dnat' });
      return { addr: flow.dst.toString(), port: flow.dport, path: r.n.path, name: 'npt' };
    }
    if (r.kind === 'npt-pd') {
      step(`iifname "${pkt.iif}" jump npt_pd_${r.n.index}_in: NPTv6 to a /64 of the prefix delegated on ${r.n.uplinkDevice}, unknown offline; not applied`, { path: r.n.path });
      continue;
    }
    if (!isPortProto(proto) || flow.dport === undefined) continue;
    let f: ForwardModel | undefined;
    let how: string;
    if (r.kind === 'range') {
      const { f: rf } = r;
      const why = r.daddr === 'local' ? local(flow.dst) : undefined;
      const dst = r.daddr === 'local' ? why && `daddr type local (${why})` : r.daddr.some((a) => sameAddr(flow.dst, a)) ? `daddr ${flow.dst}` : undefined;
      if (!dst || !rf.protos.includes(proto as 'tcp') || flow.dport < rf.port || flow.dport > rf.portEnd!) continue;
      f = rf;
      how = `iifname "${pkt.iif}" ${dst} ${proto} dport ${rf.port}-${rf.portEnd} dnat to ${rf.target.addr} (port kept; ${r.comment})`;
    } else if (r.map.by === 'addr') {
      f = r.map.entries.get(addrKey(flow.dst.toString(), proto, flow.dport))?.forward;
      if (!f) continue;
      how = `iifname "${pkt.iif}" daddr . l4proto . dport ${flow.dst} . ${proto} . ${flow.dport} found in the map (${r.comment})`;
    } else {
      const why = local(flow.dst);
      if (!why) continue;
      f = r.map.entries.get(portKey(proto, flow.dport))?.forward;
      if (!f) continue;
      how = `iifname "${pkt.iif}" daddr type local (${why}), l4proto . dport ${proto} . ${flow.dport} found in the map (${r.comment})`;
    }
    const port = r.kind === 'range' ? flow.dport : f.target.port ?? f.port;
    flow.dst = f.target.addr;
    flow.dport = port;
    flow.dnatted = true;
    step(`${how} → dnat to ${f.target.addr}${flow.family === 6 ? ` port ${port}` : `:${port}`}`, { path: f.path, verdict: 'dnat' });
    return { addr: f.target.addr.toString(), port, path: f.path, name: f.name };
  }
  step('no rule matched: destination unchanged');
  return undefined;
}

/** Postrouting, for forwarded packets the filter accepted. */
export function postrouting(m: NodeModel, flow: Flow, oif: string, steps: TraceStep[]): TraceResult['snat'] {
  const table = natTable(flow.family);
  const step = (text: string, extra: Partial<TraceStep> = {}) => steps.push({ table, chain: 'postrouting', text, ...extra });
  if (flow.state !== 'new') {
    step(`not traversed by a ${flow.state} packet (conntrack applies the connection's stored mapping)`);
    return undefined;
  }
  const ownAddr = () => {
    const i = m.interfaces.find((x) => x.device === oif);
    return (flow.family === 4 ? i?.ipv4 : i?.ipv6)?.[0]?.addr.toString();
  };
  const src = flow.src;
  for (const r of tables(m, flow.family).post) {
    if (r.kind === 'npt-pd') {
      if (r.devices.includes(oif) && contains(r.n.inside, src)) step(`oifname "${oif}" jump npt_pd_${r.n.index}_out: NPTv6 of ${r.n.inside.network} to a /64 of the delegated prefix, unknown offline; not applied`, { path: r.n.path });
      continue;
    }
    if (r.kind === 'hairpin') {
      if (!r.devices.includes(oif) || !inElements(src, r.sources) || !r.targets.some((t) => sameAddr(flow.dst, t)) || !flow.dnatted) continue;
      const to = ownAddr();
      step(`oifname "${oif}" saddr ${src} in ${r.sources.join(', ')}, daddr ${flow.dst} a forward target, ct status dnat → masquerade${to ? ` to ${to}` : ''} (replies must come back through the router)`, { path: 'nat.forwards hairpin', verdict: 'masquerade' });
      return { kind: 'hairpin', to, path: 'nat.forwards hairpin' };
    }
    if (r.kind === 'snat') {
      if (!r.s.devices.includes(oif) || (r.s.sources.length && !inElements(src, r.s.sources))) continue;
      step(`oifname "${oif}"${r.s.sources.length ? ` saddr ${src} in ${r.s.sources.join(', ')}` : ''} → snat to ${r.s.to}`, { path: r.s.path, verdict: 'snat' });
      return { kind: 'snat', to: r.s.to, path: r.s.path };
    }
    if (r.kind === 'npt') {
      if (!r.n.devices.includes(oif) || !contains(r.n.inside, src)) continue;
      const to = mapPrefix(src, r.n.outside).toString();
      step(`oifname "${oif}" ip6 saddr ${r.n.inside.network} snat ip6 prefix to ${r.n.outside.network}: ${src} → ${to}`, { path: r.n.path, verdict: 'snat' });
      return { kind: 'npt', to, path: r.n.path };
    }
    if (!r.mq.devices.includes(oif) || (r.mq.sources.length && !inElements(src, r.mq.sources))) continue;
    const to = ownAddr();
    step(`oifname "${oif}"${r.mq.sources.length ? ` saddr ${src} in ${r.mq.sources.join(', ')}` : ''} → masquerade${to ? ` to ${to}` : ' (to the address the device holds)'}`, { path: r.mq.path, verdict: 'masquerade' });
    return { kind: 'masquerade', to, path: r.mq.path };
  }
  step('no rule matched: source unchanged');
  return undefined;
}
