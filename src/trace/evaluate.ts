// Offline packet tracer: walks one packet through a node's model with the semantics of the
// rendered nftables ruleset (prerouting DNAT, routing decision, filter input/forward, postrouting
// SNAT) and names the config entry that decided it. Pure: no I/O, no kernel.
import type { NodeModel } from '../model/types.js';
import { featureModel } from '../model/build.js';
import { sysctl } from '../features/sysctl/index.js';
import { parseAddress } from '../lib/ip.js';
import { PORT_PROTOS, familyOf } from './match.js';
import { forwardHook, inputHook } from './filter.js';
import { natTable, postrouting, prerouting } from './nat.js';
import { deliveryReason, localReason, lookupRoute, parseLocal, reversePathDrop } from './route.js';
import { TraceInputError, type Flow, type Packet, type TraceOptions, type TraceResult, type TraceStep } from './types.js';

export type { Packet, TraceOptions, TraceResult, TraceStep } from './types.js';
export { TraceInputError } from './types.js';

const STATES = ['new', 'established', 'related', 'invalid'] as const;
export { PORT_PROTOS };

function checkPort(name: string, p: number | undefined) {
  if (p !== undefined && (!Number.isInteger(p) || p < 1 || p > 65535)) throw new TraceInputError(`${name} ${p} is not a port in 1-65535`);
}

/** Parses and checks the packet; every problem is a TraceInputError with a message for the user. */
export function makeFlow(pkt: Packet): Flow {
  if (pkt.family !== 4 && pkt.family !== 6) throw new TraceInputError(`family ${String(pkt.family)} is neither 4 nor 6`);
  const src = parseAddress(pkt.src);
  const dst = parseAddress(pkt.dst);
  if (!src) throw new TraceInputError(`source '${pkt.src}' is not an IPv4 or IPv6 address`);
  if (!dst) throw new TraceInputError(`destination '${pkt.dst}' is not an IPv4 or IPv6 address`);
  if (src.family !== pkt.family || dst.family !== pkt.family) {
    throw new TraceInputError(`source ${pkt.src} and destination ${pkt.dst} must both be IPv${pkt.family}`);
  }
  if (!pkt.proto) throw new TraceInputError('no protocol given');
  if (pkt.proto === 'icmp' && pkt.family === 6) throw new TraceInputError("proto icmp is IPv4's; IPv6 uses icmpv6");
  if (pkt.proto === 'icmpv6' && pkt.family === 4) throw new TraceInputError("proto icmpv6 is IPv6's; IPv4 uses icmp");
  checkPort('source port', pkt.sport);
  checkPort('destination port', pkt.dport);
  if ((pkt.sport !== undefined || pkt.dport !== undefined) && !PORT_PROTOS.includes(pkt.proto)) {
    throw new TraceInputError(`${pkt.proto} has no ports; ports need ${PORT_PROTOS.join(', ')}`);
  }
  if (pkt.icmpType !== undefined && pkt.proto !== 'icmp' && pkt.proto !== 'icmpv6') throw new TraceInputError('an icmp type needs proto icmp or icmpv6');
  const state = pkt.state ?? 'new';
  if (!STATES.includes(state)) throw new TraceInputError(`state '${state}' is not one of ${STATES.join(', ')}`);
  if (!pkt.iif) throw new TraceInputError('no input interface given');
  return { pkt, family: pkt.family, state, src: src.addr, dst: dst.addr, dport: pkt.dport, dnatted: false };
}

export function tracePacket(model: NodeModel, pkt: Packet, opts: TraceOptions = {}): TraceResult {
  const flow = makeFlow(pkt);
  const extra = parseLocal(opts.localAddresses).filter((a) => familyOf(a) === flow.family);
  const steps: TraceStep[] = [];
  const route = (text: string, extra2: Partial<TraceStep> = {}) => steps.push({ table: 'routing', chain: 'decision', text, ...extra2 });

  const dnat = prerouting(model, flow, (a) => localReason(model, a, extra), steps);

  const own = localReason(model, flow.dst, extra) ?? deliveryReason(model, flow.dst);
  // The kernel validates the source at the routing decision, before either hook.
  const rp = reversePathDrop(model, flow.src, pkt.iif);
  if (rp) {
    route(rp.text, { path: rp.path, verdict: 'drop' });
    return { verdict: 'drop', hook: own ? 'input' : 'forward', dnat, decidedBy: { path: rp.path }, steps };
  }
  if (own) {
    route(`${flow.dst} is for the router (${own}) → input hook`);
    const d = inputHook(model, flow, steps);
    return { verdict: d.verdict, hook: 'input', dnat, decidedBy: d.decidedBy, steps };
  }

  const s = featureModel(model, sysctl)!;
  const forwarding = flow.family === 4 ? s.ipv4Forwarding : s.ipv6Forwarding;
  if (!forwarding) {
    const path = `routing: forwarding off (sysctl.ipv${flow.family}-forwarding)`;
    route(`${flow.dst} is not local and IPv${flow.family} forwarding is off: the kernel drops it`, { path, verdict: 'drop' });
    return { verdict: 'drop', hook: 'forward', dnat, decidedBy: { path }, steps };
  }
  const r = lookupRoute(model, flow.dst);
  if (!r) {
    route(`no route to ${flow.dst}: the kernel drops it (ICMP unreachable) before the forward hook`, { path: 'routing: no route', verdict: 'drop' });
    return { verdict: 'drop', hook: 'forward', dnat, decidedBy: { path: 'routing: no route' }, steps };
  }
  route(`${flow.dst} → oif ${r.device}: ${r.text}${dynamicHint(model, flow, r.device)}`);

  const d = forwardHook(model, flow, r.device, steps);
  const snat = d.verdict === 'accept' ? postrouting(model, flow, r.device, steps) : undefined;
  if (d.verdict !== 'accept') steps.push({ table: natTable(flow.family), chain: 'postrouting', text: `not reached: the packet was ${d.verdict === 'drop' ? 'dropped' : 'rejected'}` });
  return { verdict: d.verdict, hook: 'forward', oif: r.device, dnat, snat, decidedBy: d.decidedBy, steps };
}

/** A packet routed back out of the dynamic uplink it came in on was most likely meant for the router's own (unknown) address. */
function dynamicHint(m: NodeModel, flow: Flow, oif: string): string {
  if (oif !== flow.pkt.iif) return '';
  const i = m.interfaces.find((x) => x.device === oif);
  const dynamic = flow.family === 4 ? i?.ipv4Dhcp : i?.ipv6Mode === 'slaac' || i?.ipv6Mode === 'dhcp';
  return dynamic ? ` (back out of the interface it arrived on; if ${flow.dst} is the address ${oif} gets dynamically, give it as a local address)` : '';
}

/** One line for people: `accept by firewall.rules[3] ssh (forward wan0 → lan0, dnat to 10.0.1.1:80 by nat.forwards[0] web, masquerade)`. */
export function summaryLine(res: TraceResult, pkt: Packet): string {
  const by = res.decidedBy.name ? `${res.decidedBy.path} ${res.decidedBy.name}` : res.decidedBy.path;
  const where = res.hook === 'input' ? `input ${pkt.iif}` : `forward ${pkt.iif} → ${res.oif ?? '(no route)'}`;
  const parts = [where];
  if (res.dnat) {
    const to = res.dnat.port === undefined ? res.dnat.addr : pkt.family === 6 ? `[${res.dnat.addr}]:${res.dnat.port}` : `${res.dnat.addr}:${res.dnat.port}`;
    parts.push(`dnat to ${to} by ${res.dnat.path} ${res.dnat.name}`);
  }
  if (res.snat) {
    const kind = res.snat.kind === 'hairpin' ? 'hairpin masquerade' : res.snat.kind;
    parts.push(res.snat.kind === 'masquerade' || res.snat.kind === 'hairpin' ? kind : `${kind} to ${res.snat.to}`);
  }
  return `verdict: ${res.verdict} by ${by} (${parts.join(', ')})`;
}
