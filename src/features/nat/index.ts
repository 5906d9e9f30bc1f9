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

/**
 * Only DNAT to a forward's target counts: NPTv6 also sets `ct status dnat`, and its traffic must
 * meet the zone policy like routed traffic.
 */
function natFirewall(m: NatModel): FirewallContribution {
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
  return { sets, forwardAccept, tables: renderNatTables(m) };
}

export const nat = defineFeature({
  id: 'nat',
  siteKeys: natSiteKeys,
  verify: verifyNat,
  model: natModel,
  firewall: natFirewall,
});

export type { NatModel };
