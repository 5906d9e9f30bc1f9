// DHCPv6 prefix delegation: an uplink asks the ISP for a prefix (networkd's DHCPv6 client, a
// length hint), LANs take /64s of it by subnet id and announce them. Forwarded IPv6 from such a
// LAN must come from its current /64 (anti-spoofing set `pd_<link>`), which a small follower
// (./follower.ts) keeps current when the ISP renumbers; it also refills NPTv6 to a delegated /64.
import { z } from 'zod';
import { name } from '../../config/schema-core.js';
import { formatPath } from '../../config/diagnostics.js';
import { pick } from '../../model/resolve.js';
import { defineFeature } from '../feature.js';
import { ident } from '../../render/nft.js';
import type { NatModel } from '../nat/model.js';
import type { RaModel } from '../ra/model.js';
import { PD_FOLLOW_PATH, pdFollowScript } from './follower.js';

export const pdInterfaceKeys = {
  'prefix-delegation': z.strictObject({
    length: z.number().int().min(40).max(64).default(56).describe('prefix length to ask for (hint)'),
  }).optional().describe('ask the ISP for a prefix by DHCPv6-PD on this uplink (needs ipv6: dhcp)'),
  'ipv6-from': z.strictObject({
    uplink: name.describe('the interface that receives the delegated prefix'),
    subnet: z.number().int().min(0).max(65535).describe('which /64 of the delegated prefix this link gets (subnet id)'),
  }).optional().describe('give this link a /64 carved from the prefix delegated on the uplink'),
};

export interface PdModel {
  uplinks: { key: string; device: string; length: number; path: string }[];
  lans: { key: string; device: string; zone: string; uplinkKey: string; uplinkDevice: string; subnet: number; path: string }[];
}

const UNIT = 'kairo-pd-follow.service';

export const prefixDelegation = defineFeature({
  id: 'prefix-delegation',
  interfaceKeys: pdInterfaceKeys,
  verify(c) {
    const { site } = c;
    const delegating = Object.entries(site.interfaces).filter(([, x]) => x['prefix-delegation']).map(([k]) => k);
    for (const [key, iface] of Object.entries(site.interfaces)) {
      const base = ['interfaces', key];
      if (iface['prefix-delegation'] && iface.ipv6 !== 'dhcp') {
        c.error('pd.needs-dhcp', [...base, 'prefix-delegation'], 'prefix delegation is asked for by DHCPv6: this interface needs ipv6: dhcp', "write 'ipv6: dhcp'");
      }
      const from = iface['ipv6-from'];
      if (!from) continue;
      const up = Object.hasOwn(site.interfaces, from.uplink) ? site.interfaces[from.uplink]['prefix-delegation'] : undefined;
      if (!up) {
        c.error('pd.unknown-uplink', [...base, 'ipv6-from', 'uplink'], `'${from.uplink}' is not an interface with prefix-delegation`, c.suggest(from.uplink, delegating));
      } else if (from.subnet >= 2 ** (64 - up.length)) {
        c.error('pd.subnet-range', [...base, 'ipv6-from', 'subnet'], `a /${up.length} has ${2 ** (64 - up.length)} /64s; subnet ${from.subnet} is not one of them`, 'pick a smaller subnet id or ask for a shorter prefix');
      }
    }
  },
  model(ctx): PdModel | undefined {
    const uplinks: PdModel['uplinks'] = [];
    const lans: PdModel['lans'] = [];
    for (const i of ctx.interfaces) {
      const cfg = ctx.site.interfaces[i.key];
      const pd = cfg['prefix-delegation'];
      if (pd) uplinks.push({ key: i.key, device: i.device, length: pd.length, path: formatPath(['interfaces', i.key, 'prefix-delegation']) });
      const from = cfg['ipv6-from'];
      if (from) {
        lans.push({
          key: i.key, device: i.device, zone: i.zone, uplinkKey: from.uplink,
          uplinkDevice: pick(ctx.site.interfaces[from.uplink]?.device, ctx.node) ?? from.uplink,
          subnet: from.subnet, path: formatPath(['interfaces', i.key, 'ipv6-from']),
        });
      }
    }
    return uplinks.length || lans.length ? { uplinks, lans } : undefined;
  },
  // DHCPv6-PD: ask without waiting for the RA's M flag; LANs take their /64 by subnet id and
  // announce it (Announce=yes takes effect where the ra feature turns IPv6SendRA on: by default).
  networkd: (m) => [
    ...m.uplinks.map((u) => ({ device: u.device, ipv6: true, sections: [`[DHCPv6]\nPrefixDelegationHint=::/${u.length}\nWithoutRA=solicit\n`] })),
    ...m.lans.map((l) => ({
      device: l.device,
      ipv6: true,
      network: [['DHCPPrefixDelegation', 'yes']] as [string, string][],
      sections: [`[DHCPPrefixDelegation]\nUplinkInterface=${l.uplinkDevice}\nSubnetId=${l.subnet}\nAnnounce=yes\n`],
    })),
  ],
  // BCP 38 on links numbered from a delegated prefix: forwarded IPv6 must come from the /64 the
  // link holds now. The set follows the prefix (the follower keeps it current).
  firewall: (m) => ({
    sets: m.lans.map((l) => `\tset ${ident('pd', l.key)} {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}`),
    fromZone: m.lans.map((l) => ({
      zone: l.zone,
      rule: {
        matches: [
          { kind: 'iif', devices: [l.device] }, { kind: 'nfproto', family: 6 },
          { kind: 'addr', dir: 'saddr', family: 6, set: ident('pd', l.key), negate: true },
        ],
        counter: true, verdict: { kind: 'drop' }, comment: `${l.path}: source outside the delegated prefix`, decides: { path: l.path },
      },
    })),
  }),
  render(m, ctx) {
    const nat = ctx.node.features.get('nat') as NatModel | undefined;
    const ra = ctx.node.features.get('ra') as RaModel | undefined;
    const script = pdFollowScript(m, nat?.nptPd ?? [], ctx.head, ra?.links ?? []);
    if (!script) return [];
    const unit = `${ctx.head}[Unit]
Description=kairo: keep the firewall's delegated-prefix sets current
After=kairo-boot.service systemd-networkd.service

[Service]
ExecStart=${PD_FOLLOW_PATH}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
    return [
      { path: PD_FOLLOW_PATH, content: script, mode: 0o755, owner: 'prefix-delegation', reload: 'none' },
      { path: `/etc/systemd/system/${UNIT}`, content: unit, mode: 0o644, owner: 'prefix-delegation', reload: 'none' },
    ];
  },
  services: () => [{ unit: UNIT, files: [PD_FOLLOW_PATH, `/etc/systemd/system/${UNIT}`], onChange: 'restart', enabled: true, after: ['kairo-boot.service'] }],
  // The lab's networkd does the delegation from the rendered files; this tells the lab which
  // links to expect a prefix on (and the ISP which length to delegate).
  lab: {
    router: (m) => {
      const up = m.uplinks[0];
      return up ? { dhcp6: { uplink: up.device, length: up.length, lans: m.lans.filter((l) => l.uplinkKey === up.key).map((l) => ({ dev: l.device, subnet: l.subnet })) } } : {};
    },
  },
});
