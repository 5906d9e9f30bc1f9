// The filter table `inet kairo` as src/features/firewall/render.ts writes it: the stateful base,
// RFC 4890 ICMPv6, dispatch by input interface (and output interface when forwarding) to the
// zone-pair chain, its rules in order, then the pair's policy or the site default.
import type { AddrMatch, FilterRule, NodeModel, PairPolicy } from '../model/types.js';
import { ruleText } from '../features/firewall/render.js';
import { ident } from '../render/nft.js';
import { contains, parseCidr, type Addr } from '../lib/ip.js';
import { familyOf, inElements, portIn, sameAddr } from './match.js';
import { forwardTargets } from '../features/nat/plan.js';
import type { Decision, Flow, TraceStep } from './types.js';

const TABLE = 'inet kairo';

// These lists must stay equal to the ones in src/features/firewall/render.ts (not exported there).
const ND_TYPES = ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'ind-neighbor-solicit', 'ind-neighbor-advert'];
const ICMPV6_ERRORS = ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'];
const MLD_TYPES = ['mld-listener-query', 'mld-listener-report', 'mld-listener-done', 'mld2-listener-report'];
const LINK_LOCAL = parseCidr('fe80::/10')!;

type Step = (chain: string, text: string, extra?: Partial<TraceStep>) => void;

function stepper(steps: TraceStep[]): Step {
  return (chain, text, extra = {}) => steps.push({ table: TABLE, chain, text, ...extra });
}

function addrMismatch(m: NodeModel, match: AddrMatch, addr: Addr, dir: 'saddr' | 'daddr'): string | undefined {
  const fam = match.family === 4 ? 'ip' : 'ip6';
  if (familyOf(addr) !== match.family) return `${fam} ${dir}: the packet is IPv${familyOf(addr)}`;
  if ('set' in match) {
    const set = m.sets.find((s) => s.name === match.set);
    return set && inElements(addr, set.elements) ? undefined : `${dir} ${addr} not in @${match.set}`;
  }
  return inElements(addr, match.prefixes) ? undefined : `${dir} ${addr} not in ${match.prefixes.join(', ')}`;
}

/** Why a rule does not match the packet, or undefined when it does; mirrors ruleText() term by term. */
export function ruleMismatch(m: NodeModel, r: FilterRule, flow: Flow): string | undefined {
  const { pkt } = flow;
  // The renderer writes `meta nfproto` whenever no address in the rule implies the family.
  if (r.family && !r.source && !r.destination && flow.family !== r.family) return `meta nfproto ipv${r.family}: the packet is IPv${flow.family}`;
  const src = r.source && addrMismatch(m, r.source, flow.src, 'saddr');
  if (src) return src;
  const dst = r.destination && addrMismatch(m, r.destination, flow.dst, 'daddr');
  if (dst) return dst;
  if (r.protos.length && !r.protos.includes(pkt.proto)) return `l4proto ${pkt.proto} not in ${r.protos.join(', ')}`;
  if (r.sourcePorts.length && !portIn(pkt.sport, r.sourcePorts)) return `sport ${pkt.sport ?? '(none)'} not in ${r.sourcePorts.join(', ')}`;
  if (r.ports.length && !portIn(flow.dport, r.ports)) return `dport ${flow.dport ?? '(none)'} not in ${r.ports.join(', ')}`;
  if (r.icmpTypes.length) {
    // `icmpv6 type` when the rule names icmpv6, else `icmp type`; either implies its protocol.
    const want = r.protos.includes('icmpv6') ? 'icmpv6' : 'icmp';
    if (pkt.proto !== want) return `${want} type: the packet is ${pkt.proto}`;
    if (!pkt.icmpType || !r.icmpTypes.includes(pkt.icmpType)) return `${want} type ${pkt.icmpType ?? '(none)'} not in ${r.icmpTypes.join(', ')}`;
  }
  return undefined;
}

/** `ct status dnat … @forward_targetsN accept`: a port-forwarded connection to a forward's target (NPTv6 does not count). */
function forwardAccept(m: NodeModel, flow: Flow, chain: string, step: Step): Decision | undefined {
  if (!flow.dnatted || flow.dport === undefined) return undefined;
  const hit = forwardTargets(m, flow.family).some((t) => {
    const [addr, proto, ports] = t.split(' . ');
    const [lo, hi] = ports.split('-').map(Number);
    return sameAddr(flow.dst, addr) && proto === flow.pkt.proto && flow.dport! >= lo && flow.dport! <= (hi ?? lo);
  });
  if (!hit) return undefined;
  step(chain, `ct status dnat, ${flow.dst} . ${flow.pkt.proto} . ${flow.dport} in @forward_targets${flow.family}: accept`, { path: 'nat.forwards', verdict: 'accept' });
  return { verdict: 'accept', decidedBy: { path: 'nat.forwards' } };
}

/** A zone-pair chain: rules in order, then (forward hook) port-forwarded connections, then the pair's policy or the site default. */
function runChain(m: NodeModel, flow: Flow, chain: string, rules: FilterRule[], policy: PairPolicy | undefined, what: string, step: Step, forwardHook = false): Decision {
  for (const r of rules) {
    const label = r.name ? `${r.path} ${r.name}` : r.path;
    const why = ruleMismatch(m, r, flow);
    if (why) {
      step(chain, `${label}: no match (${why})`, { path: r.path });
      continue;
    }
    const notes = [r.limit ? `limit rate ${r.limit.rate} treated as not exceeded` : '', r.log ? 'logged' : ''].filter(Boolean);
    step(chain, `${ruleText(r)}${notes.length ? ` (${notes.join('; ')})` : ''}`, { path: r.path, verdict: r.action });
    return { verdict: r.action, decidedBy: { path: r.path, name: r.name } };
  }
  if (forwardHook) {
    const fwd = forwardAccept(m, flow, chain, step);
    if (fwd) return fwd;
  }
  return policyDecision(m, chain, policy, what, step);
}

function policyDecision(m: NodeModel, chain: string, policy: PairPolicy | undefined, what: string, step: Step): Decision {
  const action = policy?.action ?? m.defaultAction;
  const path = policy ? policy.path : `firewall.default (${what})`;
  if (policy?.log) step(chain, `log prefix "${policy.log}" (rate-limited, no verdict)`, { path });
  const how = action === 'reject' ? ' (tcp reset for tcp, icmpx admin-prohibited otherwise)' : '';
  step(chain, `${policy ? 'policy' : 'no policy for this pair: site default'} ${action}${how}`, { path, verdict: action });
  return { verdict: action, decidedBy: { path } };
}

function zoneOf(m: NodeModel, device: string): string | undefined {
  for (const [zone, devs] of m.zones) if (devs.includes(device)) return zone;
  return undefined;
}

function pairOf(m: NodeModel, from: string, to: string) {
  return m.pairs.find((p) => p.from === from && p.to === to);
}

/** `ct state vmap { established : accept, related : accept, invalid : drop }`, first in both hooks. */
function ctState(flow: Flow, chain: string, step: Step): Decision | undefined {
  if (flow.state === 'new') return undefined;
  const verdict = flow.state === 'invalid' ? 'drop' : 'accept';
  const path = `base: ct state ${flow.state}`;
  step(chain, `ct state vmap: ${flow.state} : ${verdict}`, { path, verdict });
  return { verdict, decidedBy: { path } };
}

function icmpv6Is(flow: Flow, types: string[]): boolean {
  return flow.family === 6 && flow.pkt.proto === 'icmpv6' && flow.pkt.icmpType !== undefined && types.includes(flow.pkt.icmpType);
}

function base(chain: string, text: string, what: string, step: Step): Decision {
  const path = `base: ${what}`;
  step(chain, text, { path, verdict: 'accept' });
  return { verdict: 'accept', decidedBy: { path } };
}

export function inputHook(m: NodeModel, flow: Flow, steps: TraceStep[]): Decision {
  const step = stepper(steps);
  const { pkt } = flow;
  const ct = ctState(flow, 'input', step);
  if (ct) return ct;
  if (pkt.iif === 'lo') return base('input', 'iifname "lo" accept', 'lo', step);
  if (icmpv6Is(flow, ND_TYPES)) {
    return base('input', `icmpv6 type ${pkt.icmpType} ip6 hoplimit 255 accept (hop limit assumed 255, as neighbour discovery is sent)`, 'RFC 4890 neighbour discovery', step);
  }
  if (icmpv6Is(flow, ICMPV6_ERRORS)) return base('input', `icmpv6 type ${pkt.icmpType} accept`, 'RFC 4890 errors', step);
  if (icmpv6Is(flow, MLD_TYPES) && contains(LINK_LOCAL, flow.src)) return base('input', `ip6 saddr fe80::/10 icmpv6 type ${pkt.icmpType} accept`, 'RFC 4890 MLD', step);
  const dhcp6 = m.interfaces.filter((i) => i.ipv6Mode === 'dhcp').map((i) => i.device);
  if (dhcp6.includes(pkt.iif) && flow.family === 6 && contains(LINK_LOCAL, flow.src) && pkt.proto === 'udp' && pkt.sport === 547 && flow.dport === 546) {
    return base('input', `iifname "${pkt.iif}" ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept`, 'DHCPv6 client replies', step);
  }
  const softwire = m.interfaces.find((i) => i.dsLite && i.device === pkt.iif);
  if (softwire && flow.family === 6 && pkt.proto === 'ipip' && sameAddr(flow.src, softwire.dsLite!.aftr)) {
    return base('input', `iifname "${pkt.iif}" ip6 saddr ${softwire.dsLite!.aftr} meta l4proto 4 accept`, `${softwire.dsLite!.path} (ipip from the AFTR)`, step);
  }
  const zone = zoneOf(m, pkt.iif);
  if (!zone) return policyDecision(m, 'input', undefined, 'unzoned interface → router', (c, t, e) => step(c, `iifname "${pkt.iif}" is in no zone; ${t}`, e));
  const chain = ident('in', zone);
  step('input', `iifname vmap: "${pkt.iif}" : jump ${chain} (zone ${zone})`);
  const pair = pairOf(m, zone, 'router');
  return runChain(m, flow, chain, pair?.rules ?? [], pair?.policy, `${zone} → router`, step);
}

export function forwardHook(m: NodeModel, flow: Flow, oif: string, steps: TraceStep[]): Decision {
  const step = stepper(steps);
  const { pkt } = flow;
  const ct = ctState(flow, 'forward', step);
  if (ct) return ct;
  if (icmpv6Is(flow, ICMPV6_ERRORS)) return base('forward', `icmpv6 type ${pkt.icmpType} accept`, 'RFC 4890 errors', step);
  const from = zoneOf(m, pkt.iif);
  if (!from) return policyDecision(m, 'forward', undefined, 'unzoned interface', (c, t, e) => step(c, `iifname "${pkt.iif}" is in no zone; ${t}`, e));
  const fromChain = ident('from', from);
  step('forward', `iifname vmap: "${pkt.iif}" : jump ${fromChain} (zone ${from})`);
  const to = zoneOf(m, oif);
  const pair = to === undefined ? undefined : pairOf(m, from, to);
  if (!pair) {
    step(fromChain, `oifname "${oif}" (zone ${to ?? 'none'}) has no chain from ${from}`);
    return forwardAccept(m, flow, fromChain, step) ?? policyDecision(m, fromChain, undefined, `${from} → unlisted`, step);
  }
  // A pair with only a plain policy is a bare verdict in the vmap, no chain (as rendered): accept
  // always, drop only when no forward could need the chain's port-forward line.
  const hasTargets = forwardTargets(m, 4).length + forwardTargets(m, 6).length > 0;
  if (pair.rules.length === 0 && pair.policy && !pair.policy.log && (pair.policy.action === 'accept' || (pair.policy.action === 'drop' && !hasTargets))) {
    const { action, path } = pair.policy;
    step(fromChain, `oifname vmap: "${oif}" : ${action} (zone ${to}, policy)`, { path, verdict: action });
    return { verdict: action, decidedBy: { path } };
  }
  const chain = ident('fwd', from, to!);
  step(fromChain, `oifname vmap: "${oif}" : jump ${chain} (zone ${to})`);
  return runChain(m, flow, chain, pair.rules, pair.policy, `${from} → ${to}`, step, true);
}
