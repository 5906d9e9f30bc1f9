// The firewall's per-node model: zone pairs with their rules (file order, first match wins, as in
// VyOS) and policies, the site default, and the named sets. Typed, parsed once.
import { normalizeIcmpType } from './icmp.js';
import { utf8Prefix } from '../../render/nft.js';
import type { Family } from '../../lib/ip.js';
import { parseCidr } from '../../lib/ip.js';
import { formatPath } from '../../config/diagnostics.js';
import { ANY, ROUTER, asList, familyOfMatch, type SetFamilies } from '../../model/resolve.js';
import type { Verdict } from '../../model/types.js';
import type { PolicyConfig, RuleConfig } from './schema.js';

/** One address match: literal prefixes of one family, or a named set. */
export type AddrMatch = { family: Family; prefixes: string[] } | { family: Family; set: string };

export interface FilterRule {
  path: string;
  /** Stable identity for comments: `firewall.rules[NAME]` when named, else the path. Inserting a rule does not renumber the others. */
  label: string;
  name?: string;
  /** Restricts to one family; undefined = both. */
  family?: Family;
  protos: string[];
  ports: string[];
  sourcePorts: string[];
  source?: AddrMatch;
  destination?: AddrMatch;
  icmpTypes: string[];
  log?: string;
  limit?: { rate: string; burst?: number };
  action: Verdict;
}

export interface PairPolicy {
  action: Verdict;
  log?: string;
  path: string;
  /** `firewall.policies[lan>wan]`: the pair is the policy's identity. */
  label: string;
}

/** A zone pair: `to` is a zone or 'router'. */
export interface ZonePair {
  from: string;
  to: string;
  rules: FilterRule[];
  policy?: PairPolicy;
}

export interface SetModel {
  name: string;
  family: Family;
  elements: string[];
  interval: boolean;
}

export interface FirewallModel {
  pairs: ZonePair[];
  defaultAction: 'drop' | 'reject';
  sets: SetModel[];
}

export interface FirewallInput {
  zones?: Record<string, unknown>;
  sets?: Record<string, { family: 'ipv4' | 'ipv6'; elements: string[] }>;
  firewall?: { default: 'drop' | 'reject'; policies: PolicyConfig[]; rules: RuleConfig[] };
}

function addrMatch(sets: SetFamilies, v: string | string[] | undefined): AddrMatch | undefined {
  const list = asList(v);
  if (list.length === 0) return undefined;
  if (list.length === 1 && list[0].startsWith('@')) {
    return { family: familyOfMatch(sets, list[0])!, set: list[0].slice(1) };
  }
  const family = familyOfMatch(sets, list[0])!;
  return { family, prefixes: list.map((s) => parseCidr(s, true)?.text.replace(family === 4 ? /\/32$/ : /\/128$/, '') ?? s) };
}

export function logPrefix(log: boolean | string | undefined, fallback: string): string | undefined {
  if (log === undefined || log === false) return undefined;
  return log === true ? safeLogPrefix(fallback) : log;
}

/** nft's log prefix: at most 127 bytes, no `$` (nft variables), quotes, backslashes or control characters. */
export const LOG_PREFIX_BYTES = 127;
export function safeLogPrefix(text: string): string {
  return utf8Prefix(text.replace(/[$"\\\x00-\x1f\x7f]/g, '_'), LOG_PREFIX_BYTES);
}

/** A port or range as nft reads it: decimal ("010" is 10, not octal 8). */
export function decimalPorts(p: string | number): string {
  return String(p).split('-').map((x) => String(Number(x))).join('-');
}

function toRule(sets: SetFamilies, r: RuleConfig, i: number): FilterRule {
  const source = addrMatch(sets, r.source);
  const destination = addrMatch(sets, r.destination);
  const protos = asList(r.proto);
  let family: Family | undefined = r.family === 'ipv4' ? 4 : r.family === 'ipv6' ? 6 : undefined;
  family ??= source?.family ?? destination?.family;
  if (!family && protos.includes('icmp')) family = 4;
  if (!family && protos.includes('icmpv6')) family = 6;
  const path = formatPath(['firewall', 'rules', i]);
  return {
    path,
    label: r.name ? `firewall.rules[${r.name}]` : path,
    name: r.name,
    family,
    protos,
    ports: asList(r.port).map(decimalPorts),
    sourcePorts: asList(r['source-port']).map(decimalPorts),
    source,
    destination,
    icmpTypes: asList(r['icmp-type']).map((t) => normalizeIcmpType(protos.includes('icmpv6') ? 'icmpv6' : 'icmp', t) ?? String(t)),
    log: logPrefix(r.log, `kairo ${r.name ?? path} `),
    limit: typeof r.limit === 'string' ? { rate: r.limit } : r.limit,
    action: r.action,
  };
}

/** Every zone pair that has rules or a policy, rules in file order. */
function buildPairs(cfg: FirewallInput, zones: string[]): ZonePair[] {
  const byKey = new Map<string, ZonePair>();
  const get = (from: string, to: string) => {
    const k = `${from}>${to}`;
    let p = byKey.get(k);
    if (!p) byKey.set(k, (p = { from, to, rules: [] }));
    return p;
  };
  const expand = (ref: string | string[], withRouter: boolean) => {
    const l = asList(ref);
    if (l.length === 1 && l[0] === ANY) return zones;
    return l.filter((z) => withRouter || z !== ROUTER);
  };
  (cfg.firewall?.policies ?? []).forEach((p, i) => {
    get(p.from, p.to).policy = {
      action: p.action,
      log: logPrefix(p.log, `kairo ${p.from}>${p.to} ${p.action} `),
      path: formatPath(['firewall', 'policies', i]),
      label: `firewall.policies[${p.from}>${p.to}]`,
    };
  });
  (cfg.firewall?.rules ?? []).forEach((r, i) => {
    const rule = toRule(cfg.sets, r, i);
    for (const from of expand(r.from, false)) for (const to of expand(r.to, true)) get(from, to).rules.push(rule);
  });
  return [...byKey.values()];
}

export function firewallModel(cfg: FirewallInput, zones: string[]): FirewallModel {
  return {
    pairs: buildPairs(cfg, zones),
    defaultAction: cfg.firewall?.default ?? 'drop',
    sets: Object.entries(cfg.sets ?? {}).map(([name, set]) => ({
      name,
      family: set.family === 'ipv4' ? 4 : 6,
      elements: set.elements,
      interval: set.elements.some((e) => e.includes('/') || e.includes('-')),
    })),
  };
}
