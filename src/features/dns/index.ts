// DNS for the LANs: a caching resolver (unbound) on the router's addresses of the served links,
// answering their clients only (never the uplink), by recursion from the root or through
// forwarders (DNS-over-TLS with the certificate's name checked), with local names from DHCP
// reservations and declared hosts (forward and reverse) and a block list answered NXDOMAIN. The
// firewall opens 53 (UDP and TCP) on the served links only.
import type { FwRule } from '../firewall/chains.js';
import { defineFeature } from '../feature.js';
import { readBlocklistFile } from './files.js';
import { buildDnsModel, type DnsModel } from './model.js';
import { BLOCKLIST_CONF, LOCAL_CONF, UNBOUND_CONF, UNBOUND_UNIT, UNIT_PATH, renderDns } from './render.js';
import { dnsSiteKeys } from './schema.js';
import { verifyDns } from './verify.js';

export type { DnsModel } from './model.js';
export { resolverAddresses } from './model.js';

export const dns = defineFeature({
  id: 'dns',
  siteKeys: dnsSiteKeys,
  readFiles: (site, source, read) => readBlocklistFile(site, source, read),
  verify: verifyDns,
  model: (ctx): DnsModel | undefined => buildDnsModel(ctx.site as never, ctx.node, ctx.interfaces),
  firewall: (m) => ({
    input: m.links.flatMap((l) => (['udp', 'tcp'] as const).map((proto) => serverPort(l.device, proto, `dns (resolver on ${l.path})`))),
  }),
  render: (m, ctx) => renderDns(m, ctx.head, ctx.node.site),
  services: () => [{
    unit: UNBOUND_UNIT,
    files: [UNBOUND_CONF, LOCAL_CONF, BLOCKLIST_CONF, UNIT_PATH],
    // Names and the block list: reread, the cache kept. What unbound only takes at a start (the
    // addresses it listens on; it binds them before it drops root) restarts it.
    onChange: 'reload',
    restartFor: [UNBOUND_CONF, UNIT_PATH],
    enabled: true,
    after: ['kairo-boot.service'],
    lab: { listens: ['udp:53', 'tcp:53'] },
    check: { argv: ['unbound-checkconf', UNBOUND_CONF] },
  }],
});

function serverPort(device: string, proto: 'udp' | 'tcp', path: string): FwRule {
  return {
    matches: [{ kind: 'iif', devices: [device] }, { kind: 'port', dir: 'dport', ports: ['53'], proto }],
    counter: true, verdict: { kind: 'accept' }, comment: path, decides: { path },
  };
}
