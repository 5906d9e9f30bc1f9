// Checks of the firewall's slice: zones (declared, referenced, distinct as chain names), sets,
// policies and rules.
import { scopeIdHint } from '../../model/checks.js';
import { icmpTypeNames, normalizeIcmpType, type IcmpProto } from './icmp.js';
import { LOG_PREFIX_BYTES, safeLogPrefix } from './model.js';
import type { PathSegment } from '../../config/diagnostics.js';
import { compareAddr, familyOfPrefix, parseAddress, type Family } from '../../lib/ip.js';
import { checkAddrMatch, checkPorts, checkZoneRef } from '../../model/checks.js';
import { ANY, ROUTER, asList } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import type { firewallSiteKeys } from './schema.js';

type Ctx = VerifyContext<typeof firewallSiteKeys>;

export function verifyFirewall(c: Ctx) {
  const { site, zones } = c;
  // Zone names become nft chain names with anything but letters, digits and _ turned into _.
  const byIdent = new Map<string, string>();
  for (const z of zones) {
    const id = z.replace(/[^A-Za-z0-9_]/g, '_');
    const other = byIdent.get(id);
    const at = zonePath(site, z);
    if (other) c.error('zone.name-clash', at, `zones '${other}' and '${z}' would share the chains in_${id}, from_${id} in the ruleset`, 'rename one of them (- and _ are the same to nft chain names)', at[0] === 'zones');
    else byIdent.set(id, z);
  }
  // `router` is the router itself and `any` every zone, in policies and rules: a zone of either
  // name would make `{from: wan, to: router}` mean two things (and let forwarded traffic through).
  for (const reserved of [ROUTER, ANY]) {
    if (site.zones && Object.hasOwn(site.zones, reserved)) {
      c.error('zone.reserved', ['zones', reserved], `'${reserved}' is a reserved word in policies and rules, not a zone name`, 'name the zone after what it holds (wan, lan, dmz, …)', true);
    }
    for (const [key, iface] of Object.entries(site.interfaces)) {
      if (iface.zone === reserved) c.error('zone.reserved', ['interfaces', key, 'zone'], `'${reserved}' is a reserved word in policies and rules, not a zone name`, 'name the zone after what it holds (wan, lan, dmz, …)');
    }
  }
  if (c.declaredZones) {
    for (const [key, iface] of Object.entries(site.interfaces)) {
      if (!c.declaredZones.includes(iface.zone)) {
        c.error('ref.unknown-zone', ['interfaces', key, 'zone'], `zone '${iface.zone}' is not declared under 'zones:'`, c.suggest(iface.zone, c.declaredZones));
      }
    }
  }
  checkSets(c);
  checkRules(c);
}

/** Where a zone is named: its declaration, or else the first interface that puts itself in it. */
function zonePath(site: Ctx['site'], zone: string): PathSegment[] {
  if (site.zones && Object.hasOwn(site.zones, zone)) return ['zones', zone];
  const iface = Object.entries(site.interfaces).find(([, i]) => i.zone === zone);
  return iface ? ['interfaces', iface[0], 'zone'] : [];
}

function checkSets(c: Ctx) {
  for (const [name, set] of Object.entries(c.site.sets ?? {})) {
    const fam: Family = set.family === 'ipv4' ? 4 : 6;
    set.elements.forEach((e, i) => {
      const f = familyOfPrefix(e);
      if (f === fam) return;
      const p = ['sets', name, 'elements', i];
      const range = f ? null : /^(.+)-(.+)$/.exec(e);
      const rf = range ? [parseAddress(range[1]), parseAddress(range[2])] : undefined;
      if (f) {
        c.error('address.family-mismatch', p, `'${e}' is IPv${f} in an ${set.family} set`);
      } else if (rf && rf[0] && rf[1]) {
        if (rf[0].family !== fam || rf[1].family !== fam) c.error('address.family-mismatch', p, `'${e}' is not ${set.family}`);
        else if (compareAddr(rf[0].addr, rf[1].addr) > 0) c.error('set.range-reversed', p, `'${e}' runs from high to low; nft refuses such a range`, `write it low to high: ${range![2]}-${range![1]}`);
      } else {
        c.error('address.invalid', p, `'${e}' is not an address, prefix or range`, scopeIdHint(e));
      }
    });
  }
}

function checkRules(c: Ctx) {
  const { site, zones } = c;
  const fw = site.firewall;
  if (!fw) return;
  const seenPairs = new Map<string, number>();
  fw.policies.forEach((p, i) => {
    const base: PathSegment[] = ['firewall', 'policies', i];
    checkZoneRef(p.from, zones, false, [...base, 'from'], c);
    checkZoneRef(p.to, zones, true, [...base, 'to'], c);
    checkLogPrefix(p.log, [...base, 'log'], c);
    if (p.from === ANY || p.to === ANY) c.error('policy.any', base, "a policy names one zone pair; 'any' is for rules", 'use firewall.default for every pair without a policy');
    const k = `${p.from}>${p.to}`;
    if (seenPairs.has(k)) c.error('policy.duplicate', base, `policy ${p.from} → ${p.to} is already set by firewall.policies[${seenPairs.get(k)}]`, 'keep one policy per zone pair');
    else seenPairs.set(k, i);
  });
  const ruleNames = new Map<string, number>();
  fw.rules.forEach((r, i) => {
    const base: PathSegment[] = ['firewall', 'rules', i];
    if (r.name !== undefined) {
      const prior = ruleNames.get(r.name);
      if (prior !== undefined) c.error('rule.duplicate-name', [...base, 'name'], `rule name '${r.name}' is already used by firewall.rules[${prior}]`, 'a name is the rule\'s identity in comments, counters and traces; make it unique');
      else ruleNames.set(r.name, i);
    }
    checkZoneRef(r.from, zones, false, [...base, 'from'], c);
    checkZoneRef(r.to, zones, true, [...base, 'to'], c);
    const fams = new Set<Family>([...checkAddrMatch(site.sets, r.source, [...base, 'source'], c), ...checkAddrMatch(site.sets, r.destination, [...base, 'destination'], c)]);
    const protos = asList(r.proto);
    if (protos.includes('icmp')) fams.add(4);
    if (protos.includes('icmpv6')) fams.add(6);
    if (r.family === 'ipv4') fams.add(4);
    if (r.family === 'ipv6') fams.add(6);
    if (fams.size > 1) {
      c.error('rule.mixed-family', base, 'this rule mixes IPv4 and IPv6 (addresses, icmp/icmpv6 or family)', 'split it into one rule per family');
    }
    const portProtos = protos.filter((p) => p === 'tcp' || p === 'udp' || p === 'sctp' || p === 'udplite');
    if ((r.port !== undefined || r['source-port'] !== undefined) && (protos.length === 0 || portProtos.length !== protos.length)) {
      c.error('rule.port-without-proto', base, 'ports need proto tcp, udp or sctp (and only those)', "add 'proto: tcp' (or [tcp, udp])");
    }
    if (r['icmp-type'] !== undefined && !(protos.length === 1 && (protos[0] === 'icmp' || protos[0] === 'icmpv6'))) {
      c.error('rule.icmp-type-without-icmp', [...base, 'icmp-type'], 'icmp-type needs proto icmp or icmpv6, and that protocol alone', 'put other protocols in a rule of their own');
    }
    if (r['icmp-type'] !== undefined && protos.length === 1 && (protos[0] === 'icmp' || protos[0] === 'icmpv6')) checkIcmpTypes(r['icmp-type'], protos[0], [...base, 'icmp-type'], c);
    checkLogPrefix(r.log, [...base, 'log'], c);
    checkLimit(r.limit, [...base, 'limit'], c);
    checkPorts(r.port, [...base, 'port'], c);
    checkPorts(r['source-port'], [...base, 'source-port'], c);
  });
}

function checkIcmpTypes(v: string | number | (string | number)[], proto: IcmpProto, path: PathSegment[], c: Ctx) {
  const other: IcmpProto = proto === 'icmp' ? 'icmpv6' : 'icmp';
  asList(v).forEach((t, i) => {
    if (normalizeIcmpType(proto, t) !== undefined) return;
    const at = Array.isArray(v) ? [...path, i] : path;
    const shown = String(t).slice(0, 40);
    if (normalizeIcmpType(other, t) !== undefined && typeof t === 'string') {
      c.error('rule.icmp-type-unknown', at, `'${shown}' is an ${other} type, not an ${proto} one`, `use proto: ${other} for it, or one of ${proto}'s types`);
    } else {
      c.error('rule.icmp-type-unknown', at, `'${shown}' is not an ${proto} type`, c.suggest(String(t), icmpTypeNames(proto)) ?? `a number 0-255 or one of: ${icmpTypeNames(proto).join(', ')}`);
    }
  });
}

/** What nft takes as a log prefix (the policy log and a rule's log alike). */
export function checkLogPrefix(log: boolean | string | undefined, path: PathSegment[], c: Pick<Ctx, 'error'>) {
  if (typeof log !== 'string') return;
  if (Buffer.byteLength(log) > LOG_PREFIX_BYTES) c.error('log.prefix-invalid', path, `the log prefix is ${Buffer.byteLength(log)} bytes; nft takes at most ${LOG_PREFIX_BYTES}`, 'shorten it (non-ASCII letters take 2-4 bytes each)');
  else if (safeLogPrefix(log) !== log) c.error('log.prefix-invalid', path, 'a log prefix cannot hold $, quotes, backslashes or control characters', 'nft reads $ as a variable; write the prefix without them');
}

const UNIT_NS: Record<string, bigint> = { second: 10n ** 9n, minute: 60n * 10n ** 9n, hour: 3600n * 10n ** 9n, day: 86400n * 10n ** 9n };

/**
 * The kernel's token bucket keeps burst × (the unit's nanoseconds / rate) in 64 bits and refuses
 * the rule beyond ("Value too large"): a large burst at a low rate overflows it.
 */
function checkLimit(limit: string | { rate: string; burst?: number } | undefined, path: PathSegment[], c: Pick<Ctx, 'error'>) {
  if (limit === undefined || typeof limit === 'string' || limit.burst === undefined) return;
  const m = /^(\d+)\/(second|minute|hour|day)$/.exec(limit.rate);
  if (!m) return;
  const perPacket = UNIT_NS[m[2]] / BigInt(m[1]);
  if (perPacket * BigInt(limit.burst) >= 2n ** 64n) {
    const max = (2n ** 64n - 1n) / (perPacket === 0n ? 1n : perPacket);
    c.error('rule.limit-invalid', [...path, 'burst'], `a burst of ${limit.burst} at ${limit.rate} is more than the kernel's token bucket holds`, `at this rate the burst can be at most ${max}`);
  }
}
