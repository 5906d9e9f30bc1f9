// The filter table `inet kairo`: stateful base, RFC 4890 ICMPv6 essentials, and zone dispatch by
// verdict maps, so a packet's cost depends on its zone pair's rules, not on the whole rule count.
import type { AddrMatch, FilterRule, NodeModel, PairPolicy, SetModel, ZonePair } from '../../model/types.js';
import { anon, comment, elementLines, ident, ifnames, q } from '../../render/nft.js';
import { forwardTargets } from '../nat/plan.js';

/** IANA protocol numbers for names whose /etc/protocols entry is missing or misleading: `ipip` there is 94, DS-Lite and ipip6 use 4. */
const PROTO: Record<string, string> = {
  tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'ipv6-icmp', esp: 'esp', ah: 'ah', gre: 'gre', sctp: 'sctp',
  udplite: 'udplite', vrrp: '112', ipip: '4', ospf: '89',
};

/** RFC 4890 4.4.1: neighbour discovery must reach the router, and only from the link (hop limit 255). */
const ND_TYPES = ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'ind-neighbor-solicit', 'ind-neighbor-advert'];
/** RFC 4890 4.3.1: errors that must never be dropped (PMTUD breaks without packet-too-big). */
const ICMPV6_ERRORS = ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'];
const MLD_TYPES = ['mld-listener-query', 'mld-listener-report', 'mld-listener-done', 'mld2-listener-report'];

function addrExpr(dir: 'saddr' | 'daddr', m: AddrMatch): string {
  const fam = m.family === 4 ? 'ip' : 'ip6';
  return 'set' in m ? `${fam} ${dir} @${ident('set', m.set)}` : `${fam} ${dir} ${anon(m.prefixes)}`;
}

export function ruleText(r: FilterRule): string {
  const parts: string[] = [];
  // Addresses already pin the family; otherwise say it, or an ipv4 rule would match IPv6 too.
  if (r.family && !r.source && !r.destination) {
    parts.push(`meta nfproto ${r.family === 4 ? 'ipv4' : 'ipv6'}`);
  }
  if (r.source) parts.push(addrExpr('saddr', r.source));
  if (r.destination) parts.push(addrExpr('daddr', r.destination));
  if (r.protos.length > 0) parts.push(`meta l4proto ${anon(r.protos.map((p) => PROTO[p] ?? p))}`);
  if (r.sourcePorts.length > 0) parts.push(`th sport ${anon(r.sourcePorts)}`);
  if (r.ports.length > 0) parts.push(`th dport ${anon(r.ports)}`);
  if (r.icmpTypes.length > 0) parts.push(`${r.protos.includes('icmpv6') ? 'icmpv6' : 'icmp'} type ${anon(r.icmpTypes)}`);
  if (r.limit) parts.push(`limit rate ${r.limit.rate}${r.limit.burst ? ` burst ${r.limit.burst} packets` : ''}`);
  parts.push('counter');
  if (r.log) parts.push(`log prefix ${q(r.log)}`);
  parts.push(verdictText(r.action, r.protos.length > 0 && r.protos.every((p) => p === 'tcp')));
  parts.push(comment(r.label));
  return parts.join(' ');
}

function verdictText(action: 'accept' | 'drop' | 'reject', tcpOnly = false): string {
  if (action !== 'reject') return action;
  return tcpOnly ? 'reject with tcp reset' : 'reject with icmpx admin-prohibited';
}

/** The end of a pair chain: its policy (logged, rate-limited log) or the site default. */
function policyLines(policy: PairPolicy | undefined, fallback: 'drop' | 'reject', what: string): string[] {
  const action = policy?.action ?? fallback;
  const c = comment(policy ? policy.label : `firewall.default (${what})`);
  const out: string[] = [];
  if (policy?.log) out.push(`limit rate 10/second burst 20 packets log prefix ${q(policy.log)} ${c}`);
  if (action === 'reject') out.push(`meta l4proto tcp counter reject with tcp reset ${c}`, `counter reject with icmpx admin-prohibited ${c}`);
  else out.push(`counter ${action} ${c}`);
  return out;
}

/**
 * Port-forwarded connections are let through after the pair's own rules (so a blocklist still
 * applies to them) and before its policy. Only DNAT to a forward's target counts: NPTv6 also
 * sets `ct status dnat`, and its traffic must meet the zone policy like routed traffic.
 */
function forwardAcceptLines(m: NodeModel): string[] {
  const out: string[] = [];
  if (forwardTargets(m, 4).length) out.push(`ct status dnat ip daddr . meta l4proto . th dport @forward_targets4 counter accept ${comment('nat.forwards')}`);
  if (forwardTargets(m, 6).length) out.push(`ct status dnat ip6 daddr . meta l4proto . th dport @forward_targets6 counter accept ${comment('nat.forwards')}`);
  return out;
}

function forwardTargetSets(m: NodeModel): string[] {
  return ([4, 6] as const).flatMap((f) => {
    const elems = forwardTargets(m, f);
    if (!elems.length) return [];
    const type = `${f === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service`;
    return [`	set forward_targets${f} {
		type ${type}
		flags interval
		elements = {
${elementLines(elems, '\t\t\t', 4)}
		}
	}`];
  });
}

function setDecl(s: SetModel): string {
  const type = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const flags = s.interval ? '\n\t\tflags interval\n\t\tauto-merge' : '';
  const elems = s.elements.length ? `\n\t\telements = {\n${elementLines(s.elements, '\t\t\t')}\n\t\t}` : '';
  return `\tset ${ident('set', s.name)} {\n\t\ttype ${type}${flags}${elems}\n\t}`;
}

function chain(name: string, lines: string[], base?: string): string {
  const body = [...(base ? [base] : []), ...lines].map((l) => `\t\t${l}`).join('\n');
  return `\tchain ${name} {\n${body}\n\t}`;
}

export function renderFilterTable(m: NodeModel): string {
  const chains: string[] = [];
  const pairBy = new Map<string, ZonePair>(m.pairs.map((p) => [`${p.from}>${p.to}`, p]));
  const zoneList = [...m.zones.entries()].filter(([, devs]) => devs.length > 0);

  // Input: one chain per source zone (rules then policy); dispatch by input interface.
  const inputDispatch: string[] = [];
  for (const [zone, devs] of zoneList) {
    const pair = pairBy.get(`${zone}>router`);
    const name = ident('in', zone);
    chains.push(chain(name, [...(pair?.rules ?? []).map(ruleText), ...policyLines(pair?.policy, m.defaultAction, `${zone} → router`)]));
    for (const d of devs) inputDispatch.push(`${q(d)} : jump ${name}`);
  }

  // Forward: two-level dispatch (input interface → source zone chain, output interface → pair),
  // linear in the number of interfaces rather than quadratic.
  const forwardDispatch: string[] = [];
  const dnatAccept = forwardAcceptLines(m);
  for (const [from, fromDevs] of zoneList) {
    const fromName = ident('from', from);
    const byOut: string[] = [];
    for (const [to, toDevs] of zoneList) {
      const pair = pairBy.get(`${from}>${to}`);
      let target: string;
      if (pair && pair.rules.length === 0 && pair.policy && !pair.policy.log && (pair.policy.action === 'accept' || (pair.policy.action === 'drop' && dnatAccept.length === 0))) {
        target = pair.policy.action; // a bare verdict needs no chain
      } else if (pair) {
        const name = ident('fwd', from, to);
        chains.push(chain(name, [...pair.rules.map(ruleText), ...dnatAccept, ...policyLines(pair.policy, m.defaultAction, `${from} → ${to}`)]));
        target = `jump ${name}`;
      } else continue; // falls to the default at the end of the source zone chain
      for (const d of toDevs) byOut.push(`${q(d)} : ${target}`);
    }
    // BCP 38 on links numbered from a delegated prefix: forwarded IPv6 must come from the /64 the
    // link holds now. The set follows the prefix (features/prefix-delegation keeps it current).
    const antiSpoof = m.interfaces.filter((i) => i.ipv6From && i.zone === from).map((i) => `iifname ${q(i.device)} meta nfproto ipv6 ip6 saddr != @${ident('pd', i.key)} counter drop ${comment(`${i.ipv6From!.path}: source outside the delegated prefix`)}`);
    const lines = [...antiSpoof, ...(byOut.length ? [`oifname vmap {\n\t\t\t${byOut.join(',\n\t\t\t')}\n\t\t}`] : [])];
    chains.push(chain(fromName, [...lines, ...dnatAccept, ...policyLines(undefined, m.defaultAction, `${from} → unlisted`)]));
    for (const d of fromDevs) forwardDispatch.push(`${q(d)} : jump ${fromName}`);
  }

  const dhcp6Clients = m.interfaces.filter((i) => i.ipv6Mode === 'dhcp').map((i) => i.device);
  // The AFTR's encapsulated IPv4 (protocol 4, not /etc/protocols' "ipip" = 94). Replies would pass
  // as established anyway; this lets in what the AFTR sends first (and flows older than conntrack's timeout).
  const softwires = m.interfaces.filter((i) => i.dsLite).map((i) => `iifname ${q(i.device)} ip6 saddr ${i.dsLite!.aftr} meta l4proto 4 counter accept ${comment(`${i.dsLite!.path} (ipip from the AFTR)`)}`);
  const input = chain('input', [
    'ct state vmap { established : accept, related : accept, invalid : drop }',
    'iifname "lo" accept',
    `icmpv6 type { ${ND_TYPES.join(', ')} } ip6 hoplimit 255 accept ${comment('RFC 4890 neighbour discovery')}`,
    `icmpv6 type { ${ICMPV6_ERRORS.join(', ')} } accept ${comment('RFC 4890 errors')}`,
    `ip6 saddr fe80::/10 icmpv6 type { ${MLD_TYPES.join(', ')} } accept ${comment('RFC 4890 MLD')}`,
    ...(dhcp6Clients.length ? [`iifname ${ifnames(dhcp6Clients)} ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept ${comment('DHCPv6 client replies')}`] : []),
    ...softwires,
    ...(inputDispatch.length ? [`iifname vmap {\n\t\t\t${inputDispatch.join(',\n\t\t\t')}\n\t\t}`] : []),
    ...policyLines(undefined, m.defaultAction, 'unzoned interface → router'),
  ], 'type filter hook input priority filter; policy drop;');

  const forward = chain('forward', [
    'ct state vmap { established : accept, related : accept, invalid : drop }',
    `icmpv6 type { ${ICMPV6_ERRORS.join(', ')} } accept ${comment('RFC 4890 errors')}`,
    ...(forwardDispatch.length ? [`iifname vmap {\n\t\t\t${forwardDispatch.join(',\n\t\t\t')}\n\t\t}`] : []),
    ...policyLines(undefined, m.defaultAction, 'unzoned interface'),
  ], 'type filter hook forward priority filter; policy drop;');

  // Links with a smaller MTU than the LAN (softwires, later PPP): clamp the TCP MSS to the route's
  // MTU in both directions, or large downloads stall where ICMP is filtered upstream.
  const narrow = [...m.interfaces.filter((i) => i.pppoe).map((i) => i.device), ...m.interfaces.filter((i) => i.dsLite).map((i) => i.dsLite!.tunnel)];
  const mss = narrow.length
    ? [chain('mss_clamp', [
      `oifname ${ifnames(narrow)} tcp flags syn tcp option maxseg size set rt mtu ${comment('MSS clamping (smaller MTU)')}`,
      `iifname ${ifnames(narrow)} tcp flags syn tcp option maxseg size set rt mtu ${comment('MSS clamping (smaller MTU)')}`,
    ], 'type filter hook forward priority mangle; policy accept;')]
    : [];
  const pdSets = m.interfaces.filter((i) => i.ipv6From).map((i) => `\tset ${ident('pd', i.key)} {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}`);
  const body = [...m.sets.map(setDecl), ...pdSets, ...forwardTargetSets(m), input, forward, ...mss, ...chains].join('\n\n');
  return `table inet kairo {\n${body}\n}\n`;
}
