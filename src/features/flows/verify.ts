// Checks of the flows slice: links that exist, collectors softflowd can send to, one NetFlow
// version per exporter, and a local collector whose limits make sense (rotation, retention, size).
import type { VerifyContext } from '../feature.js';
import { seconds } from '../dhcp/schema.js';
import { collectorText, localOf, parseCollector, sizeBytes } from './model.js';
import type { flowsSiteKeys } from './schema.js';

const MIN_SIZE = 10 * 1024 ** 2;

export function verifyFlows(c: VerifyContext<typeof flowsSiteKeys>) {
  const f = c.site.flows;
  if (!f) return;
  const keys = Object.keys(c.site.interfaces);
  const seen = new Set<string>();
  if (f.links.length === 0) c.error('flows.no-links', ['flows', 'links'], 'flows watches no link', 'name the interfaces whose traffic to account, e.g. links: [lan]');
  f.links.forEach((k, i) => {
    if (!keys.includes(k)) c.error('flows.link-unknown', ['flows', 'links', i], `'${k}' is not an interface of this site`, c.suggest(k, keys));
    else if (seen.has(k)) c.error('flows.link-duplicate', ['flows', 'links', i], `${k} is listed twice`, 'each link is watched by one softflowd: list it once');
    seen.add(k);
  });

  const sent = new Map<string, number>();
  f.export.forEach((e, i) => {
    const col = parseCollector(e.collector);
    if (!col) {
      c.error('flows.collector-invalid', ['flows', 'export', i, 'collector'], `'${e.collector}' is not ADDRESS:PORT`, 'e.g. 192.0.2.50:2055, or [2001:db8::50]:4739 for IPv6 (an address, not a name: a router must not depend on DNS to account)');
      return;
    }
    const text = collectorText(col);
    if (sent.has(text)) c.error('flows.collector-duplicate', ['flows', 'export', i, 'collector'], `${text} is also export[${sent.get(text)}]: it would get every record twice`, 'list each collector once');
    sent.set(text, i);
  });
  const version = (v: 9 | 10 | 'ipfix') => (v === 9 ? 9 : 10);
  const first = f.export[0];
  f.export.forEach((e, i) => {
    if (i > 0 && version(e.version) !== version(first.version)) {
      c.error('flows.version-mixed', ['flows', 'export', i, 'version'], `export[0] is sent as ${version(first.version) === 9 ? 'NetFlow v9' : 'IPFIX'} and this one as ${version(e.version) === 9 ? 'NetFlow v9' : 'IPFIX'}: softflowd speaks one version to all its collectors`, `give every collector the same version (${first.version})`);
    }
  });

  const local = localOf(f.local);
  if (f.export.length === 0 && !local) {
    c.error('flows.no-collector', ['flows'], 'the flow records would go nowhere: there is no export and no local collector', 'add export: [{ collector: ADDRESS:PORT }] or local: true (a collector on the router, read with `kairo flows`)');
  }
  if (local) {
    const base = ['flows', 'local'];
    const rotate = seconds(local.rotate);
    const retention = seconds(local.retention);
    if (rotate < 5 || rotate > 86400) c.error('flows.rotate-invalid', [...base, 'rotate'], `a new file every ${local.rotate} is ${rotate < 5 ? 'too often' : 'too rarely'}: flows show once their file is closed`, 'rotate between 5s and 1d; 5m is usual');
    // nfexpire counts retention in minutes; one file's worth would delete the data as it is written.
    if (retention % 60 !== 0 || retention < 2 * rotate || retention < 600) c.error('flows.retention-invalid', [...base, 'retention'], `a retention of ${local.retention} ${retention % 60 !== 0 ? 'is not whole minutes' : `keeps too little (files are ${local.rotate} each)`}`, 'keep at least 10m and two files, in minutes, hours or days: e.g. 7d');
    if (sizeBytes(local['max-size']) < MIN_SIZE) c.error('flows.size-invalid', [...base, 'max-size'], `${local['max-size']} is too small for the collector's files`, 'allow at least 10M; 1G holds weeks of a home network');
    const own = `127.0.0.1:${local.port}`;
    if (sent.has(own)) c.error('flows.collector-duplicate', ['flows', 'export', sent.get(own)!, 'collector'], `${own} is the local collector (local.port): it would get every record twice`, 'remove this export, or move local.port');
  }
}
