// NAT: masquerade, SNAT, NPTv6 and port forwards in `ip kairo_nat` / `ip6 kairo_nat`, printed from
// the NAT plan (./plan.ts) that the tracer evaluates too. Port-forwarded connections are let
// through the filter after the zone pair's own rules (a blocklist still applies to them).
import { defineFeature, type FirewallContribution } from '../feature.js';
import { elementLines } from '../../render/nft.js';
import type { FwRule } from '../firewall/chains.js';
import { natSiteKeys } from './schema.js';
import { verifyNat } from './verify.js';
import { natModel, type NatModel } from './model.js';
import { forwardTargets } from './plan.js';
import { renderNatTables } from './render.js';
import { contains, parseCidr, type Cidr, type Family } from '../../lib/ip.js';
import type { NodeModel } from '../../model/types.js';

/**
 * Only DNAT to a forward's target counts: NPTv6 also sets `ct status dnat`, and its traffic must
 * meet the zone policy like routed traffic.
 */
/** Addresses the Internet has no business reaching except through a translation. */
const INSIDE_ONLY = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((p) => parseCidr(p)!);
const insideOnly = (c: Cidr) => INSIDE_ONLY.some((p) => p.family === c.family && contains(p, c.addr) && p.prefix <= c.prefix);

/**
 * Ingress filtering (RFC 3704 in spirit) on the links NAT faces: a packet from there to an inside
 * prefix that only exists behind the translation (NPTv6's inside prefix; private addresses behind
 * masquerade or SNAT) is dropped unless a port forward or NPTv6 translated it. Without it, a
 * neighbour on the uplink could route straight to the ULA an NPTv6 rule publishes, past any rule
 * that accepts the inside address for the translated traffic. First in the zone's chain, like
 * anti-spoofing: such packets are bogus on a NAT uplink whatever the rules say.
 */
function ingressRules(m: NatModel, node: NodeModel): { zone: string; rule: FwRule }[] {
  const zoneOf = (dev: string) => [...node.zones].find(([, devs]) => devs.includes(dev))?.[0];
  const byOut = new Map<string, { devices: string[]; family: Family; prefixes: Set<string>; path: string }>();
  const add = (devices: string[], family: Family, prefixes: string[], path: string) => {
    const key = `${devices.join(',')}|${family}`;
    const e = byOut.get(key) ?? { devices, family, prefixes: new Set<string>(), path };
    for (const p of prefixes) e.prefixes.add(p);
    byOut.set(key, e);
  };
  for (const n of m.npt) add(n.devices, 6, [n.inside.network], n.path);
  for (const r of [...m.masquerade, ...m.snat]) {
    const inside = r.sources.length
      ? r.sources.map((s) => parseCidr(s, true)).filter((c): c is Cidr => c !== undefined && c.family === r.family)
      : node.interfaces.filter((i) => !r.devices.includes(i.device)).flatMap((i) => (r.family === 4 ? i.ipv4 : i.ipv6));
    add(r.devices, r.family, inside.filter(insideOnly).map((c) => c.network), r.path);
  }
  const out: { zone: string; rule: FwRule }[] = [];
  for (const e of byOut.values()) {
    const zone = e.devices.map(zoneOf).find((z) => z !== undefined);
    if (!zone || e.prefixes.size === 0) continue;
    out.push({
      zone,
      rule: {
        matches: [{ kind: 'iif', devices: e.devices }, { kind: 'nfproto', family: e.family }, { kind: 'addr', dir: 'daddr', family: e.family, prefixes: [...e.prefixes] }, { kind: 'notTranslated' }],
        counter: true, verdict: { kind: 'drop' }, comment: `${e.path}: inside only, reachable through the translation`, decides: { path: e.path },
      },
    });
  }
  return out;
}

function natFirewall(m: NatModel, node: NodeModel): FirewallContribution {
  const sets: string[] = [];
  const forwardAccept: FwRule[] = [];
  for (const f of [4, 6] as const) {
    const elements = forwardTargets(m, f);
    if (!elements.length) continue;
    const set = `forward_targets${f}`;
    forwardAccept.push({ matches: [{ kind: 'forwardTarget', family: f, set, elements }], counter: true, verdict: { kind: 'accept' }, comment: 'nat.forwards', decides: { path: 'nat.forwards' } });
    const type = `${f === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service`;
    sets.push(`\tset ${set} {\n\t\ttype ${type}\n\t\tflags interval\n\t\telements = {\n${elementLines(elements, '\t\t\t', 4)}\n\t\t}\n\t}`);
  }
  return { sets, forwardAccept, fromZone: ingressRules(m, node), tables: renderNatTables(m) };
}

export const nat = defineFeature({
  id: 'nat',
  siteKeys: natSiteKeys,
  verify: verifyNat,
  model: natModel,
  firewall: natFirewall,
});

export type { NatModel };
