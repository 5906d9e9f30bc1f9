// Writes the filter table (./chains.ts) as nft text. Every token comes from the data; nothing
// here decides what the firewall does.
import { anon, comment, elementLines, ident, ifnames, q } from '../../render/nft.js';
import type { Chain, FilterTable, FwRule, Match, RuleVerdict, VmapTarget } from './chains.js';
import { PROTO } from './chains.js';
import type { FirewallModel, SetModel } from './model.js';

function matchText(m: Match): string {
  switch (m.kind) {
    case 'iif':
      return `iifname ${ifnames(m.devices)}`;
    case 'oif':
      return `oifname ${ifnames(m.devices)}`;
    case 'nfproto':
      return `meta nfproto ${m.family === 4 ? 'ipv4' : 'ipv6'}`;
    case 'addr': {
      const fam = m.family === 4 ? 'ip' : 'ip6';
      const what = m.set !== undefined ? `@${m.set}` : anon(m.prefixes ?? []);
      return `${fam} ${m.dir} ${m.negate ? '!= ' : ''}${what}`;
    }
    case 'l4proto':
      return `meta l4proto ${anon(m.protos.map((p) => PROTO[p] ?? p))}`;
    case 'port':
      return `${m.proto ?? 'th'} ${m.dir} ${anon(m.ports)}`;
    case 'icmp':
      return `${m.proto} type ${anon(m.types)}`;
    case 'hoplimit':
      return `ip6 hoplimit ${m.value}`;
    case 'forwardTarget':
      return `ct status dnat ${m.family === 4 ? 'ip' : 'ip6'} daddr . meta l4proto . th dport @${m.set}`;
    case 'tcpSyn':
      return 'tcp flags syn';
    case 'notTranslated':
      // Bitwise: `ct status != dnat` would compare the whole status word.
      return 'ct status & dnat == 0';
  }
}

function targetText(t: VmapTarget): string {
  return typeof t === 'string' ? t : `jump ${t.jump}`;
}

function verdictText(v: RuleVerdict): string {
  switch (v.kind) {
    case 'accept':
    case 'drop':
      return v.kind;
    case 'reject':
      return `reject with ${v.with}`;
    case 'jump':
      return `jump ${v.chain}`;
    case 'ctState':
      return 'ct state vmap { established : accept, related : accept, invalid : drop }';
    case 'vmap':
      return `${v.key === 'iif' ? 'iifname' : 'oifname'} vmap {\n\t\t\t${v.entries.map((e) => `${q(e.device)} : ${targetText(e.target)}`).join(',\n\t\t\t')}\n\t\t}`;
  }
}

export function ruleText(r: FwRule): string {
  const parts = r.matches.map(matchText);
  if (r.limit) parts.push(`limit rate ${r.limit.rate}${r.limit.burst ? ` burst ${r.limit.burst} packets` : ''}`);
  if (r.counter) parts.push('counter');
  if (r.log !== undefined) parts.push(`log ${r.nflog !== undefined ? `group ${r.nflog} ` : ''}prefix ${q(r.log)}`);
  if (r.clampMss) parts.push('tcp option maxseg size set rt mtu');
  if (r.verdict) parts.push(verdictText(r.verdict));
  if (r.comment !== undefined) parts.push(comment(r.comment));
  return parts.join(' ');
}

function chainText(c: Chain): string {
  const body = [...(c.hook ? [c.hook] : []), ...c.rules.map(ruleText)].map((l) => `\t\t${l}`).join('\n');
  return `\tchain ${c.name} {\n${body}\n\t}`;
}

export function setDecl(s: SetModel): string {
  const type = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const flags = s.interval ? '\n\t\tflags interval\n\t\tauto-merge' : '';
  const elems = s.elements.length ? `\n\t\telements = {\n${elementLines(s.elements, '\t\t\t')}\n\t\t}` : '';
  return `\tset ${ident('set', s.name)} {\n\t\ttype ${type}${flags}${elems}\n\t}`;
}

export function printFilterTable(fw: FirewallModel, t: FilterTable): string {
  const body = [...fw.sets.map(setDecl), ...t.sets, ...t.chains.map(chainText)].join('\n\n');
  return `table inet kairo {\n${body}\n}\n`;
}
