// Kernel settings a router needs: forwarding (on by default, IPv6 when the site has IPv6),
// accept_ra=2 where router advertisements are taken while forwarding, rp_filter, extra keys.
import { z } from 'zod';
import { parseAddress, parseEndpoint } from '../../lib/ip.js';
import { SYSCTL_PATH } from '../../render/ruleset.js';
import { defineFeature } from '../feature.js';
import { nat } from '../nat/index.js';
import { sysctlEntries } from './render.js';

export const sysctlSchema = z.strictObject({
  'ipv4-forwarding': z.boolean().optional().describe('default on (a router forwards)'),
  'ipv6-forwarding': z.boolean().optional().describe('default on when any interface has IPv6'),
  extra: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

export interface SysctlModel {
  ipv4Forwarding: boolean;
  ipv6Forwarding: boolean;
  extra: Record<string, string>;
}

export const sysctl = defineFeature({
  id: 'sysctl',
  siteKeys: { sysctl: sysctlSchema.optional() },
  verify(c) {
    const s = c.site.sysctl ?? {};
    if (s['ipv4-forwarding'] !== false && s['ipv6-forwarding'] !== false) return;
    const n = c.sliceOf(nat).nat ?? { masquerade: [], snat: [], npt: [], forwards: [] };
    const targets = n.forwards.map((f) => parseEndpoint(f.to));
    const needs4 = [...n.masquerade.filter((m) => m.family !== 'ipv6'), ...n.snat.filter((x) => parseAddress(x.to)?.family === 4)].length > 0 || targets.some((t) => t?.family === 4);
    const needs6 = [...n.masquerade.filter((m) => m.family && m.family !== 'ipv4'), ...n.npt].length > 0 || targets.some((t) => t?.family === 6);
    if (s['ipv4-forwarding'] === false && needs4) {
      c.error('sysctl.forwarding-disabled', ['sysctl', 'ipv4-forwarding'], 'IPv4 forwarding is off, but the site has IPv4 NAT or port forwards that need it', 'remove the line (kairo turns forwarding on for a router) or drop the NAT');
    }
    if (s['ipv6-forwarding'] === false && needs6) {
      c.error('sysctl.forwarding-disabled', ['sysctl', 'ipv6-forwarding'], 'IPv6 forwarding is off, but the site has NAT66, NPTv6 or IPv6 port forwards that need it', 'remove the line or drop the IPv6 NAT');
    }
  },
  model(ctx): SysctlModel {
    const s = ctx.site.sysctl ?? {};
    const hasV6 = ctx.interfaces.some((i) => i.ipv6Mode !== 'none');
    return {
      ipv4Forwarding: s['ipv4-forwarding'] ?? true,
      ipv6Forwarding: s['ipv6-forwarding'] ?? hasV6,
      extra: Object.fromEntries(Object.entries(s.extra ?? {}).map(([k, v]) => [k, String(v)])),
    };
  },
  render: (m, ctx) => [{
    path: SYSCTL_PATH,
    content: ctx.head + sysctlEntries(m, ctx.node, ctx.contributions.devices).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n',
    mode: 0o644, owner: 'sysctl', reload: 'sysctl',
  }],
});
