// DHCP for the LANs: Kea's DHCPv4 and DHCPv6 servers (addresses, prefix delegation to downstream
// routers, reservations, options), one subnet per served link. A range written once on a site
// with two routers is split between them, as an HA pair's owner does by hand. The firewall opens
// the server ports on the served links only.
import type { FwRule } from '../firewall/chains.js';
import { defineFeature, type Service } from '../feature.js';
import { buildDhcpModel, type DhcpModel } from './model.js';
import { DB_INIT, DHCP4_CONF, DHCP6_CONF, PD_ROUTES, UNIT_DIR, renderDhcp, unit4, unit6 } from './render.js';
import { dhcpInterfaceKeys, dhcpSiteKeys } from './schema.js';
import { verifyDhcp } from './verify.js';
// The resolver comes before DHCP in the registry: a served link's clients get the router's address as DNS server.
import { dns, resolverAddresses } from '../dns/index.js';

export type { DhcpModel } from './model.js';

export const dhcp = defineFeature({
  id: 'dhcp',
  siteKeys: dhcpSiteKeys,
  interfaceKeys: dhcpInterfaceKeys,
  secrets: (site) => {
    const db = site.dhcp?.['lease-database'];
    // Kea 2.2 builds a connection string of name='value' pairs: a quote in the password ends it
    // (and Kea then logs the string, password and all).
    const refuse = { pattern: /'/, why: "holds a single quote, which Kea cannot take in a database password (it cuts its connection settings there)", hint: 'choose a password without a single quote' };
    return db && db.type !== 'memfile' ? [{ path: ['dhcp', 'lease-database', 'password'], ref: db.password, refuse }] : [];
  },
  verify: verifyDhcp,
  model: (ctx): DhcpModel | undefined => buildDhcpModel(ctx.site as never, ctx.node, ctx.interfaces, ctx.secrets, (i) => resolverAddresses(ctx.modelOf(dns), i.key)),
  firewall: (m) => ({
    input: m.links.flatMap((l) => [
      ...(l.v4 ? [serverPort(l.device, 4, '67', `${l.path}.dhcp (DHCPv4 server)`)] : []),
      ...(l.v6 ? [serverPort(l.device, 6, '547', `${l.path}.dhcp (DHCPv6 server)`)] : []),
    ]),
  }),
  render: (m, ctx) => renderDhcp(m, ctx.head, ctx.node.site),
  services: (m) => {
    const out: Service[] = [];
    // Kea rereads its file on SIGHUP and keeps its leases: a changed file reloads, never restarts.
    const db = m.db.type === 'memfile' ? [] : [DB_INIT];
    const v4 = m.links.filter((l) => l.v4).map((l) => l.device);
    const v6 = m.links.filter((l) => l.v6).map((l) => l.device);
    if (v4.length) out.push({ unit: unit4, files: [DHCP4_CONF, `${UNIT_DIR}/${unit4}`, ...db], onChange: 'reload-or-restart', enabled: true, after: ['kairo-boot.service'], lab: { listens: ['udp:67'] }, check: { argv: ['kea-dhcp4', '-t', DHCP4_CONF], devices: v4 } });
    if (v6.length) out.push({ unit: unit6, files: [DHCP6_CONF, `${UNIT_DIR}/${unit6}`, PD_ROUTES, ...db], onChange: 'reload-or-restart', enabled: true, after: ['kairo-boot.service'], lab: { listens: ['udp:547'] }, check: { argv: ['kea-dhcp6', '-t', DHCP6_CONF], devices: v6 } });
    return out;
  },
});

function serverPort(device: string, family: 4 | 6, port: string, path: string): FwRule {
  return {
    matches: [{ kind: 'iif', devices: [device] }, { kind: 'nfproto', family }, { kind: 'port', dir: 'dport', ports: [port], proto: 'udp' }],
    counter: true, verdict: { kind: 'accept' }, comment: path, decides: { path },
  };
}
