// PPPoE: a pppd peer using the kernel's PPPoE through the rp-pppoe plugin, kept up by a systemd
// unit; the Ethernet device under it gets no address. The interface's device is the PPP device
// (ppp0): zones, NAT and MSS clamping name it, and its IPv4 address and default route come from
// the session.
import { checkDeviceName } from '../../model/checks.js';
import { z } from 'zod';
import { deviceName, secretSchema } from '../../config/schema-core.js';
import { formatPath } from '../../config/diagnostics.js';
import type { Secret } from '../../config/secret.js';
import { isPerNodeMap, pick, staticAddresses } from '../../model/resolve.js';
import { parseCidr } from '../../lib/ip.js';
import { defineFeature } from '../feature.js';
import { renderPppoe, unitName, PEERS_DIR, peerName } from './render.js';

export const pppoeSchema = z.strictObject({
  over: deviceName.describe('the Ethernet device that carries PPPoE (it gets no address of its own)'),
  user: z.string().min(1).describe('PPP user name'),
  password: secretSchema.describe('{ env: NAME } or { file: PATH }; never printed'),
  mtu: z.number().int().min(576).max(1500).default(1492).describe('1500 less the 8-byte PPPoE header'),
  'service-name': z.string().optional(),
});

export interface PppoeLink {
  key: string;
  /** The interface's path (`interfaces.wan`). */
  path: string;
  device: string;
  over: string;
  user: string;
  password: Secret;
  mtu: number;
  serviceName?: string;
  /** pppd's `unit N`: the N of pppN. */
  unit: number;
}

/**
 * PPP in a namespace: the lab's kernel may have no PPP, so the PPP device is a point-to-point link
 * with the addresses IPCP would give, and the default route pppd's `defaultroute` sets. Everything
 * above it (zones by device name, NAT, MSS clamping) is the rendered ruleset as is; PPPoE itself
 * is proven in a full-kernel guest.
 */
export const PPP_EMULATION = { isp: '100.64.0.1', router: '100.64.0.2' };

export const pppoe = defineFeature({
  id: 'pppoe',
  interfaceKeys: { pppoe: pppoeSchema.optional().describe("dial PPPoE; the interface's device is the PPP device, e.g. ppp0") },
  secrets: (site) => Object.entries(site.interfaces).flatMap(([key, i]) => (i.pppoe ? [{ path: ['interfaces', key, 'pppoe', 'password'], ref: i.pppoe.password }] : [])),
  verify(c) {
    const { site } = c;
    for (const [key, iface] of Object.entries(site.interfaces)) {
      const ppp = iface.pppoe;
      if (!ppp) continue;
      const base = ['interfaces', key];
      for (const node of c.nodes) {
        const dev = pick(iface.device, node);
        if (dev !== undefined && !/^ppp\d+$/.test(dev)) c.error('pppoe.device', [...base, 'device'], `a PPPoE interface's device is the PPP device (ppp0, ppp1, …), not '${dev}'`, `write 'device: ppp0' and 'pppoe: { over: ${dev}, … }'`);
      }
      if (staticAddresses(iface.ipv4).length || iface.gateway4 || iface.ipv4 === 'dhcp') c.error('pppoe.static-address', [...base, 'ipv4'], 'PPP negotiates the address and the default route; a PPPoE interface takes no ipv4 or gateway4', 'remove ipv4 and gateway4 from this interface');
      checkDeviceName(ppp.over, [...base, 'pppoe', 'over'], c);
      // pppd reads its peer file line by line: a control character would start an option of its own.
      for (const [k, v] of [['user', ppp.user], ['service-name', ppp['service-name']]] as const) {
        if (typeof v === 'string' && /[\x00-\x1f\x7f"\\]/.test(v)) c.error('pppoe.text-invalid', [...base, 'pppoe', k], `the ${k} holds a control character, a quote or a backslash, which would change pppd's options`, 'write it as the provider gave it, on one line, without quotes');
      }
      if (Object.values(site.interfaces).some((o) => o !== iface && Object.values(isPerNodeMap(o.device) ? o.device : { x: o.device }).includes(ppp.over))) {
        c.error('pppoe.over-in-use', [...base, 'pppoe', 'over'], `${ppp.over} is configured as an interface of its own; PPPoE needs it bare`, 'remove that interface: the PPP device carries the zone and the addresses');
      }
    }
  },
  model(ctx): PppoeLink[] | undefined {
    const links = ctx.interfaces.flatMap((i) => {
      const p = ctx.site.interfaces[i.key].pppoe;
      if (!p) return [];
      return [{
        key: i.key, path: i.path, device: i.device, over: p.over, user: p.user,
        password: ctx.secrets.get(formatPath(['interfaces', i.key, 'pppoe', 'password']))!,
        mtu: p.mtu, serviceName: p['service-name'], unit: Number(/^ppp(\d+)$/.exec(i.device)?.[1] ?? 0),
      }];
    });
    return links.length ? links : undefined;
  },
  // pppd brings the PPP device up and holds its address: no networkd file, no per-device sysctl keys.
  devices: (links) => links.map((p) => ({ device: p.device, dynamic4: true, transient: true, uplink: true })),
  firewall: (links) => ({ clampMss: links.map((p) => p.device) }),
  routes: (links) => links.map((p) => ({ parent: p.device, device: p.device, family: 4 as const, net: parseCidr('0.0.0.0/0')!, text: `default over PPPoE on ${p.device} (${p.path}.pppoe: pppd's defaultroute)` })),
  render: (links, ctx) => renderPppoe(links, ctx.head),
  services: (links) => links.map((p) => ({ unit: unitName(p), files: [`${PEERS_DIR}/${peerName(p)}`, `/etc/systemd/system/${unitName(p)}`], onChange: 'restart' as const, enabled: true, after: ['kairo-boot.service'] })),
  lab: {
    router: (links, node) => ({
      preLinks: links.map((p) => ['link', 'add', p.over, 'type', 'veth', 'peer', 'name', `${p.over.slice(0, 12)}-lb`]),
      emulate: links.flatMap((p) => [
        ['addr', 'add', `${PPP_EMULATION.router}/32`, 'peer', `${PPP_EMULATION.isp}/32`, 'dev', p.device],
        ['link', 'set', p.device, 'mtu', String(p.mtu)],
        ['link', 'set', p.device, 'up'],
        ['route', 'add', 'default', 'dev', p.device],
      ]),
      notes: links.map((p) => `${node.node}: ${p.device} stands in for PPPoE over ${p.over} as a point-to-point link (${PPP_EMULATION.router} ↔ ${PPP_EMULATION.isp}); PPP itself is proven in the full-kernel guest`),
      uplink4: links.length ? { router: `${PPP_EMULATION.router}/32`, isp: [`${PPP_EMULATION.isp}/32`, 'peer', `${PPP_EMULATION.router}/32`] } : undefined,
    }),
  },
});
