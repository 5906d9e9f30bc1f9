// The filter table `inet kairo` as data: one structure that ./print.ts writes as nft text and
// src/trace/filter.ts evaluates, so the ruleset and the tracer cannot drift apart (the same way
// src/features/nat/plan.ts does it for NAT). Pure.
//
// Layout: a stateful base with the RFC 4890 ICMPv6 essentials, then zone dispatch by verdict maps
// (input interface → zone chain; output interface → zone-pair chain), so a packet's cost depends
// on its zone pair's rules, not on the whole rule count.
import type { Family } from '../../lib/ip.js';
import type { NodeModel, Verdict as Action } from '../../model/types.js';
import type { FirewallContribution } from '../feature.js';
import type { AddrMatch, FilterRule, FirewallModel, PairPolicy, ZonePair } from './model.js';
import { ident } from '../../render/nft.js';
import { nflogId, nflogPrefix, type NflogSpec } from './nflog.js';

export type Match =
  | { kind: 'iif' | 'oif'; devices: string[] }
  | { kind: 'nfproto'; family: Family }
  /** `set` is the nft set's name; `elements` undefined = filled at run time (unknown offline). */
  | { kind: 'addr'; dir: 'saddr' | 'daddr'; family: Family; prefixes?: string[]; set?: string; elements?: readonly string[]; negate?: boolean }
  | { kind: 'l4proto'; protos: string[] }
  /** `th dport 22` (any protocol with ports), or `udp dport 546` when `proto` is given. */
  | { kind: 'port'; dir: 'sport' | 'dport'; ports: string[]; proto?: 'udp' | 'tcp' }
  | { kind: 'icmp'; proto: 'icmp' | 'icmpv6'; types: string[] }
  /** `ip6 hoplimit 255`: neighbour discovery only from the link. */
  | { kind: 'hoplimit'; value: number }
  /** `ct status dnat <daddr . l4proto . dport> @set`: a connection a port forward translated to one of its targets. */
  | { kind: 'forwardTarget'; family: Family; set: string; elements: readonly string[] }
  | { kind: 'tcpSyn' }
  /** `ct status & dnat == 0`: not translated on the way in (no port forward, no NPTv6). */
  | { kind: 'notTranslated' };

/** Who decided, in the tracer's words: a config path (and rule name) or a base rule. */
export interface Decides {
  path: string;
  name?: string;
  /** A rule of the site's own (its mismatches are explained step by step). */
  user?: boolean;
}

export type VmapTarget = 'accept' | 'drop' | { jump: string };

export interface VmapEntry {
  device: string;
  target: VmapTarget;
  /** What the entry means, for the tracer (`zone lan`, `policy`). */
  note: string;
  decides?: Decides;
}

export type RuleVerdict =
  | { kind: 'accept' | 'drop' }
  | { kind: 'reject'; with: 'tcp reset' | 'icmpx admin-prohibited' }
  | { kind: 'jump'; chain: string }
  | { kind: 'vmap'; key: 'iif' | 'oif'; entries: VmapEntry[] }
  /** `ct state vmap { established : accept, related : accept, invalid : drop }`. */
  | { kind: 'ctState' };

export interface FwRule {
  matches: Match[];
  limit?: { rate: string; burst?: number };
  counter?: boolean;
  log?: string;
  /** The log goes to this NFLOG group (`log group N prefix ...`, the drop log) instead of the kernel log. */
  nflog?: number;
  /** `tcp option maxseg size set rt mtu`. */
  clampMss?: boolean;
  verdict?: RuleVerdict;
  comment?: string;
  decides?: Decides;
  /** What the tracer assumes to evaluate it offline (shown with the step). */
  assumes?: string;
  /** The site's rule this was made from (the tracer prints its nft text). */
  source?: FilterRule;
}

export interface Chain {
  name: string;
  /** Base chains: `type filter hook input priority filter; policy drop;`. */
  hook?: string;
  rules: FwRule[];
}

export interface FilterTable {
  /** Set declarations as nft text (one tab indent). */
  sets: string[];
  chains: Chain[];
}

/** IANA protocol numbers for names whose /etc/protocols entry is missing or misleading: `ipip` there is 94, DS-Lite and ipip6 use 4. */
export const PROTO: Record<string, string> = {
  tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'ipv6-icmp', esp: 'esp', ah: 'ah', gre: 'gre', sctp: 'sctp',
  udplite: 'udplite', vrrp: '112', ipip: '4', ospf: '89',
};

/** RFC 4890 4.4.1: neighbour discovery must reach the router, and only from the link (hop limit 255). */
export const ND_TYPES = ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'ind-neighbor-solicit', 'ind-neighbor-advert'];
/** RFC 4890 4.3.1: errors that must never be dropped (PMTUD breaks without packet-too-big). */
export const ICMPV6_ERRORS = ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'];
export const MLD_TYPES = ['mld-listener-query', 'mld-listener-report', 'mld-listener-done', 'mld2-listener-report'];

const accept = { kind: 'accept' } as const;

function addrMatch(fw: FirewallModel, dir: 'saddr' | 'daddr', m: AddrMatch): Match {
  if ('set' in m) {
    const set = fw.sets.find((s) => s.name === m.set);
    return { kind: 'addr', dir, family: m.family, set: ident('set', m.set), elements: set?.elements ?? [] };
  }
  return { kind: 'addr', dir, family: m.family, prefixes: m.prefixes };
}

/** A rule of the site as nft matches and statements, in the order nft prints them. */
export function userRule(fw: FirewallModel, r: FilterRule): FwRule {
  const matches: Match[] = [];
  // Addresses already pin the family; otherwise say it, or an ipv4 rule would match IPv6 too.
  if (r.family && !r.source && !r.destination) matches.push({ kind: 'nfproto', family: r.family });
  if (r.source) matches.push(addrMatch(fw, 'saddr', r.source));
  if (r.destination) matches.push(addrMatch(fw, 'daddr', r.destination));
  if (r.protos.length > 0) matches.push({ kind: 'l4proto', protos: r.protos });
  if (r.sourcePorts.length > 0) matches.push({ kind: 'port', dir: 'sport', ports: r.sourcePorts });
  if (r.ports.length > 0) matches.push({ kind: 'port', dir: 'dport', ports: r.ports });
  if (r.icmpTypes.length > 0) matches.push({ kind: 'icmp', proto: r.protos.includes('icmpv6') ? 'icmpv6' : 'icmp', types: r.icmpTypes });
  const tcpOnly = r.protos.length > 0 && r.protos.every((p) => p === 'tcp');
  return {
    matches,
    limit: r.limit,
    counter: true,
    log: r.log,
    verdict: r.action === 'reject' ? { kind: 'reject', with: tcpOnly ? 'tcp reset' : 'icmpx admin-prohibited' } : { kind: r.action },
    comment: r.label,
    decides: { path: r.path, name: r.name, user: true },
    source: r,
  };
}

/**
 * A rule of the site on one zone pair. With the drop log on, a logged drop or reject becomes two
 * rules (./nflog.ts): the rate-limited NFLOG line first, then the rule itself without its log, so
 * the limit can never keep a packet from the verdict.
 */
export function pairRules(fw: FirewallModel, r: FilterRule, pair: { from: string; to: string }, nf: NflogSpec | undefined): FwRule[] {
  const rule = userRule(fw, r);
  if (!nf || r.log === undefined || r.action === 'accept') return [rule];
  const entry = { id: nflogId(r.label, pair.from, pair.to), path: r.label, from: pair.from, to: pair.to };
  return [
    { matches: rule.matches, limit: { rate: nf.rate, burst: nf.burst }, log: nflogPrefix(entry), nflog: nf.group, comment: rule.comment, decides: rule.decides },
    { ...rule, log: undefined },
  ];
}

/** The end of a pair chain: its policy (with a rate-limited log) or the site default. */
export function policyRules(policy: PairPolicy | undefined, fallback: Action, what: string, nf?: NflogSpec & { from: string; to: string }): FwRule[] {
  const action = policy?.action ?? fallback;
  const comment = policy ? policy.label : `firewall.default (${what})`;
  const decides = { path: policy ? policy.path : `firewall.default (${what})` };
  const out: FwRule[] = [];
  // The limit is on the log only: the verdict below applies to every packet.
  // With the drop log (nf), the line goes to NFLOG under the policy's id, at the drop log's rate.
  if (policy?.log && nf && action !== 'accept') {
    const log = nflogPrefix({ id: nflogId(policy.label, nf.from, nf.to), path: policy.label, from: nf.from, to: nf.to });
    out.push({ matches: [], limit: { rate: nf.rate, burst: nf.burst }, log, nflog: nf.group, comment, decides });
  } else if (policy?.log) out.push({ matches: [], limit: { rate: '10/second', burst: 20 }, log: policy.log, comment, decides });
  if (action === 'reject') {
    out.push(
      { matches: [{ kind: 'l4proto', protos: ['tcp'] }], counter: true, verdict: { kind: 'reject', with: 'tcp reset' }, comment, decides },
      { matches: [], counter: true, verdict: { kind: 'reject', with: 'icmpx admin-prohibited' }, comment, decides },
    );
  } else out.push({ matches: [], counter: true, verdict: { kind: action }, comment, decides });
  return out;
}

const ctState: FwRule = { matches: [], verdict: { kind: 'ctState' } };

export function buildFilterTable(fw: FirewallModel, m: NodeModel, c: Required<FirewallContribution>): FilterTable {
  const chains: Chain[] = [];
  const pairBy = new Map<string, ZonePair>(fw.pairs.map((p) => [`${p.from}>${p.to}`, p]));
  const zoneList = [...m.zones.entries()].filter(([, devs]) => devs.length > 0);
  const nf = c.nflog[0];
  const rules = (pair: ZonePair | undefined) => (pair ? pair.rules.flatMap((r) => pairRules(fw, r, pair, nf)) : []);
  const pairNf = (from: string, to: string) => (nf ? { ...nf, from, to } : undefined);

  // Input: one chain per source zone (rules then policy); dispatch by input interface.
  const inputDispatch: VmapEntry[] = [];
  for (const [zone, devs] of zoneList) {
    const pair = pairBy.get(`${zone}>router`);
    const name = ident('in', zone);
    chains.push({ name, rules: [...rules(pair), ...policyRules(pair?.policy, fw.defaultAction, `${zone} → router`, pairNf(zone, 'router'))] });
    for (const d of devs) inputDispatch.push({ device: d, target: { jump: name }, note: `zone ${zone}` });
  }

  // Forward: two-level dispatch (input interface → source zone chain, output interface → pair),
  // linear in the number of interfaces rather than quadratic.
  const forwardDispatch: VmapEntry[] = [];
  const dnatAccept = c.forwardAccept;
  for (const [from, fromDevs] of zoneList) {
    const fromName = ident('from', from);
    const byOut: VmapEntry[] = [];
    for (const [to, toDevs] of zoneList) {
      const pair = pairBy.get(`${from}>${to}`);
      let target: VmapTarget;
      let note = `zone ${to}`;
      let decides: Decides | undefined;
      const p = pair?.policy;
      if (pair && pair.rules.length === 0 && p && !p.log && (p.action === 'accept' || (p.action === 'drop' && dnatAccept.length === 0))) {
        target = p.action; // a bare verdict needs no chain
        note = `zone ${to}, policy`;
        decides = { path: p.path };
      } else if (pair) {
        const name = ident('fwd', from, to);
        chains.push({ name, rules: [...rules(pair), ...dnatAccept, ...policyRules(pair.policy, fw.defaultAction, `${from} → ${to}`, pairNf(from, to))] });
        target = { jump: name };
      } else continue; // falls to the default at the end of the source zone chain
      for (const d of toDevs) byOut.push({ device: d, target, note, decides });
    }
    const guards = c.fromZone.filter((g) => g.zone === from).map((g) => g.rule);
    const vmap: FwRule[] = byOut.length ? [{ matches: [], verdict: { kind: 'vmap', key: 'oif', entries: byOut } }] : [];
    chains.push({ name: fromName, rules: [...guards, ...vmap, ...dnatAccept, ...policyRules(undefined, fw.defaultAction, `${from} → unlisted`)] });
    for (const d of fromDevs) forwardDispatch.push({ device: d, target: { jump: fromName }, note: `zone ${from}` });
  }

  const dhcp6Clients = m.interfaces.filter((i) => i.ipv6Mode === 'dhcp').map((i) => i.device);
  const input: Chain = {
    name: 'input',
    hook: 'type filter hook input priority filter; policy drop;',
    rules: [
      ctState,
      { matches: [{ kind: 'iif', devices: ['lo'] }], verdict: accept, decides: { path: 'base: lo' } },
      {
        matches: [{ kind: 'icmp', proto: 'icmpv6', types: ND_TYPES }, { kind: 'hoplimit', value: 255 }], verdict: accept,
        comment: 'RFC 4890 neighbour discovery', decides: { path: 'base: RFC 4890 neighbour discovery' }, assumes: 'hop limit assumed 255, as neighbour discovery is sent',
      },
      { matches: [{ kind: 'icmp', proto: 'icmpv6', types: ICMPV6_ERRORS }], verdict: accept, comment: 'RFC 4890 errors', decides: { path: 'base: RFC 4890 errors' } },
      {
        matches: [{ kind: 'addr', dir: 'saddr', family: 6, prefixes: ['fe80::/10'] }, { kind: 'icmp', proto: 'icmpv6', types: MLD_TYPES }], verdict: accept,
        comment: 'RFC 4890 MLD', decides: { path: 'base: RFC 4890 MLD' },
      },
      ...(dhcp6Clients.length ? [{
        matches: [
          { kind: 'iif', devices: dhcp6Clients }, { kind: 'addr', dir: 'saddr', family: 6, prefixes: ['fe80::/10'] },
          { kind: 'port', dir: 'sport', ports: ['547'], proto: 'udp' }, { kind: 'port', dir: 'dport', ports: ['546'], proto: 'udp' },
        ] as Match[],
        verdict: accept, comment: 'DHCPv6 client replies', decides: { path: 'base: DHCPv6 client replies' },
      }] : []),
      ...c.input,
      ...(inputDispatch.length ? [{ matches: [], verdict: { kind: 'vmap' as const, key: 'iif' as const, entries: inputDispatch } }] : []),
      ...policyRules(undefined, fw.defaultAction, 'unzoned interface → router'),
    ],
  };
  const forward: Chain = {
    name: 'forward',
    hook: 'type filter hook forward priority filter; policy drop;',
    rules: [
      ctState,
      { matches: [{ kind: 'icmp', proto: 'icmpv6', types: ICMPV6_ERRORS }], verdict: accept, comment: 'RFC 4890 errors', decides: { path: 'base: RFC 4890 errors' } },
      ...(forwardDispatch.length ? [{ matches: [], verdict: { kind: 'vmap' as const, key: 'iif' as const, entries: forwardDispatch } }] : []),
      ...policyRules(undefined, fw.defaultAction, 'unzoned interface'),
    ],
  };
  // Links with a smaller MTU than the LAN (softwires, PPP): clamp the TCP MSS to the route's MTU in
  // both directions, or large downloads stall where ICMP is filtered upstream.
  const mss: Chain[] = c.clampMss.length
    ? [{
      name: 'mss_clamp',
      hook: 'type filter hook forward priority mangle; policy accept;',
      rules: (['oif', 'iif'] as const).map((k) => ({ matches: [{ kind: k, devices: c.clampMss }, { kind: 'tcpSyn' }] as Match[], clampMss: true, comment: 'MSS clamping (smaller MTU)' })),
    }]
    : [];
  return { sets: c.sets, chains: [input, forward, ...mss, ...chains] };
}
