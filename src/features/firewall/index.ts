// Zones, sets, policies and rules: the filter table `inet kairo`, and the ruleset file that holds
// it with the tables other features contribute (NAT). Stateful base, RFC 4890 ICMPv6 essentials,
// zone dispatch by verdict maps; the chains are data (./chains.ts) printed here and traced by
// src/trace.
import { defineFeature } from '../feature.js';
import { header } from '../../render/artifact.js';
import { KAIRO_TABLES, NFT_PATH } from '../../render/ruleset.js';
import { zoneNames } from '../../model/resolve.js';
import { firewallSiteKeys } from './schema.js';
import { verifyFirewall } from './verify.js';
import { firewallModel, type FirewallModel } from './model.js';
import { buildFilterTable } from './chains.js';
import { printFilterTable } from './print.js';

export const firewall = defineFeature({
  id: 'firewall',
  siteKeys: firewallSiteKeys,
  verify: verifyFirewall,
  model: (ctx): FirewallModel => firewallModel(ctx.site, zoneNames(ctx.site)),
  render(m, ctx) {
    const table = buildFilterTable(m, ctx.node, ctx.contributions.firewall);
    const replace = KAIRO_TABLES.map(([f, t]) => `table ${f} ${t}\ndelete table ${f} ${t}`).join('\n');
    const text = `${header('#', ctx.node.site, ctx.node.node)}\n${replace}\n\n${printFilterTable(m, table)}\n${ctx.contributions.firewall.tables.join('\n')}`;
    return [{ path: NFT_PATH, content: text, mode: 0o600, owner: 'firewall', reload: 'nftables' }];
  },
});

