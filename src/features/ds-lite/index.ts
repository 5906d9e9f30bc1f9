// DS-Lite B4 (RFC 6333): IPv4 over an ipip6 softwire to an AFTR once the uplink has a global IPv6
// address (IPoE). The softwire joins the uplink's zone (same policies), the AFTR's ipip is let in,
// TCP MSS is clamped to its smaller MTU, and it carries the IPv4 default route.
import { checkDeviceName } from '../../model/checks.js';
import { interfacesOn } from '../../model/resolve.js';
import { z } from 'zod';
import { deviceName } from '../../config/schema-core.js';
import { formatPath } from '../../config/diagnostics.js';
import { parseCidr } from '../../lib/ip.js';
import type { IfaceModel } from '../../model/types.js';
import { defineFeature } from '../feature.js';
import { AFTR_PRESETS, resolveAftr } from './aftr.js';
import { DSLITE_DIR, renderDsLite, unitName } from './render.js';

export const dsLiteSchema = z.strictObject({
  aftr: z.string().describe('the AFTR: an IPv6 address, or a preset: transix-east, transix-west'),
  tunnel: deviceName.default('dslite0').describe('tunnel device name'),
  mtu: z.number().int().min(1280).max(1500).default(1460).describe('tunnel MTU (1500 less the 40-byte IPv6 header)'),
  'wait-seconds': z.number().int().min(1).max(3600).default(120).describe('how long to wait for a global IPv6 address before giving up'),
});

export interface DsLiteLink {
  iface: IfaceModel;
  /** `interfaces.wan.ds-lite`. */
  path: string;
  tunnel: string;
  aftr: string;
  mtu: number;
  waitSeconds: number;
}

export const dsLite = defineFeature({
  id: 'ds-lite',
  interfaceKeys: { 'ds-lite': dsLiteSchema.optional().describe('IPv4 over an ipip6 tunnel to an AFTR once this link has a global IPv6 address (IPoE)') },
  verify(c) {
    for (const [key, iface] of Object.entries(c.site.interfaces)) {
      const ds = iface['ds-lite'];
      if (!ds) continue;
      const base = ['interfaces', key];
      checkDeviceName(ds.tunnel, [...base, 'ds-lite', 'tunnel'], c);
      if (!resolveAftr(ds.aftr)) c.error('ds-lite.aftr-invalid', [...base, 'ds-lite', 'aftr'], `'${ds.aftr}' is neither an IPv6 address nor a known AFTR`, `use an IPv6 address or one of ${Object.keys(AFTR_PRESETS).join(', ')}`);
      if (iface.ipv6 === undefined) c.error('ds-lite.no-ipv6', [...base, 'ds-lite'], 'DS-Lite runs over IPv6, but this interface has no ipv6', "add 'ipv6: slaac' (IPoE gives the address by router advertisement)");
    }
    // The tunnel is a device of its own, in its link's zone: it cannot share a name with another
    // interface's device or another softwire (the same device would sit in two zones).
    for (const node of c.nodes) {
      const devices = new Map(interfacesOn(c.site, node).map(([key, , dev]) => [dev, key]));
      const tunnels = new Map<string, string>();
      for (const [key, iface, dev] of interfacesOn(c.site, node)) {
        const ds = iface['ds-lite'];
        if (!ds) continue;
        const path = ['interfaces', key, 'ds-lite', 'tunnel'];
        const on = c.nodes.length > 1 ? ` on node ${node}` : '';
        if (ds.tunnel === dev || devices.has(ds.tunnel)) c.error('ds-lite.tunnel-clash', path, `the softwire ${ds.tunnel} has the name of interfaces.${devices.get(ds.tunnel)}'s device${on}`, 'give the tunnel a name of its own (tunnel: dslite0)');
        else if (tunnels.has(ds.tunnel)) c.error('ds-lite.tunnel-clash', path, `interfaces.${tunnels.get(ds.tunnel)} has a softwire named ${ds.tunnel} already${on}`, `name each tunnel (tunnel: dslite1); the default is dslite0`);
        else tunnels.set(ds.tunnel, key);
      }
    }
  },
  model(ctx): DsLiteLink[] | undefined {
    const links = ctx.interfaces.flatMap((i) => {
      const d = ctx.site.interfaces[i.key]['ds-lite'];
      return d ? [{ iface: i, path: formatPath(['interfaces', i.key, 'ds-lite']), tunnel: d.tunnel, aftr: resolveAftr(d.aftr)!, mtu: d.mtu, waitSeconds: d['wait-seconds'] }] : [];
    });
    return links.length ? links : undefined;
  },
  // The softwire carries the uplink's IPv4: same zone, same policies.
  links: (links) => links.map((d) => ({ device: d.tunnel, parent: d.iface.device })),
  firewall: (links) => ({
    // The AFTR's encapsulated IPv4 (protocol 4, not /etc/protocols' "ipip" = 94). Replies would pass
    // as established anyway; this lets in what the AFTR sends first (and flows older than conntrack's timeout).
    input: links.map((d) => ({
      matches: [{ kind: 'iif', devices: [d.iface.device] }, { kind: 'addr', dir: 'saddr', family: 6, prefixes: [d.aftr] }, { kind: 'l4proto', protos: ['ipip'] }],
      counter: true, verdict: { kind: 'accept' }, comment: `${d.path} (ipip from the AFTR)`, decides: { path: `base: ${d.path} (ipip from the AFTR)` },
    })),
    clampMss: links.map((d) => d.tunnel),
  }),
  // The unit moves the IPv4 default route onto the softwire.
  routes: (links) => links.map((d) => ({ parent: d.iface.device, device: d.tunnel, family: 4 as const, net: parseCidr('0.0.0.0/0')!, text: `default over the DS-Lite softwire ${d.tunnel} (${d.path})`, replacesDefault4: true })),
  render: (links, ctx) => renderDsLite(links, ctx.head),
  services: (links) => links.map((d) => ({ unit: unitName(d), files: [`${DSLITE_DIR}/${d.tunnel}.sh`, `/etc/systemd/system/${unitName(d)}`], onChange: 'restart' as const, enabled: true, after: ['kairo-boot.service'] })),
});
