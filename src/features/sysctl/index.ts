// Kernel settings a router needs that networkd does not manage: forwarding (on by default, IPv6
// when the site has IPv6), rp_filter, extra keys. RA acceptance is in the .network files.
import { z } from 'zod';
import { parseAddress, parseEndpoint } from '../../lib/ip.js';
import { SYSCTL_PATH } from '../../render/ruleset.js';
import { defineFeature, type VerifyContext } from '../feature.js';
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
    checkExtra(c, s.extra ?? {});
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

/** Keys kairo writes itself: set them with the site's own settings, not behind its back. */
const MANAGED: Record<string, string> = {
  'net.ipv4.ip_forward': 'ipv4-forwarding',
  'net.ipv4.conf.all.forwarding': 'ipv4-forwarding',
  'net.ipv6.conf.all.forwarding': 'ipv6-forwarding',
};

/**
 * sysctl.extra: keys as sysctl.d writes them (dotted or slashed path components, no spaces),
 * values on one line. Whether a key exists is the kernel's to say: apply checks it before changing
 * anything.
 */
function checkExtra(c: Pick<VerifyContext, 'error'>, extra: Record<string, string | number>) {
  for (const [k, v] of Object.entries(extra)) {
    const path = ['sysctl', 'extra', k];
    const norm = k.replaceAll('/', '.');
    if (!/^[a-z0-9_]+([./][A-Za-z0-9_@+-]+(\.[0-9]+)*)+$/.test(k) || k.length > 200) {
      c.error('sysctl.key-invalid', path, `'${k.slice(0, 60)}' is not a sysctl key`, 'write it as sysctl(8) does, e.g. net.ipv4.conf.eth0.rp_filter (or net/ipv4/conf/eth0.10/rp_filter for a dotted device)');
    } else if (Object.hasOwn(MANAGED, norm)) {
      c.error('sysctl.key-managed', path, `${k} is written by kairo from sysctl.${MANAGED[norm]}`, `set 'sysctl: { ${MANAGED[norm]}: … }' instead`);
    }
    if (/[\x00-\x1f\x7f]/.test(String(v)) || String(v).length > 4096) {
      c.error('sysctl.value-invalid', path, 'the value must be one line of text (a newline would write another key)', 'write the value on one line; several numbers go separated by spaces');
    }
  }
}
