// Checks of the interfaces' core facts: per-node keys, addresses and families, gateways reachable
// on the link, devices unique per node, bridge ports bare, no overlapping prefixes.
import type { PathSegment } from '../../config/diagnostics.js';
import { contains, isLinkLocal, overlaps, parseAddress, parseCidr, type Cidr } from '../../lib/ip.js';
import { interfacesOn, isPerNodeMap, parsedStatic, pick, staticAddresses } from '../../model/resolve.js';
import type { VerifyContext } from '../feature.js';
import { checkDeviceName } from '../../model/checks.js';

export function verifyInterfaces(c: VerifyContext) {
  const { site, nodes } = c;
  checkPerNodeKeys(c);
  for (const [key, iface] of Object.entries(site.interfaces)) {
    const base: PathSegment[] = ['interfaces', key];
    const devs: [PathSegment[], string][] = isPerNodeMap(iface.device) ? Object.entries(iface.device).map(([n, d]) => [[...base, 'device', n], d]) : [[[...base, 'device'], iface.device as string]];
    for (const [p, d] of devs) checkDeviceName(d, p, c);
    (iface.bridge ?? []).forEach((m, i) => checkDeviceName(m, [...base, 'bridge', i], c));
    for (const [field, fam] of [['ipv4', 4], ['ipv6', 6]] as const) {
      const v = iface[field];
      const per: [PathSegment[], unknown][] = isPerNodeMap(v) ? Object.entries(v).map(([n, x]) => [[...base, field, n], x]) : [[[...base, field], v]];
      for (const [p, val] of per) {
        staticAddresses(val).forEach((s, i) => {
          const at: PathSegment[] = Array.isArray(val) ? [...p, i] : p;
          const cidr = parseCidr(s);
          if (!cidr) {
            c.error('address.invalid', at, `'${s}' is not an address with prefix length`, fam === 4 ? 'write it like 192.0.2.1/24' : 'write it like 2001:db8::1/64');
          } else if (cidr.family !== fam) {
            c.error('address.family-mismatch', at, `'${s}' is an IPv${cidr.family} address under ${field}`, `move it to ipv${cidr.family}`);
          }
        });
      }
    }
    for (const [field, fam] of [['gateway4', 4], ['gateway6', 6], ['peer4', 4]] as const) {
      const g = iface[field];
      if (g === undefined) continue;
      const a = parseAddress(g);
      if (!a) c.error('address.invalid', [...base, field], `'${g}' is not an address`);
      else if (a.family !== fam) c.error('address.family-mismatch', [...base, field], `'${g}' is not an IPv${fam} address`);
    }
    (iface.routes ?? []).forEach((r, i) => {
      if (!parseCidr(r.to, true)) c.error('address.invalid', [...base, 'routes', i, 'to'], `'${r.to}' is not an address or prefix`);
      if (r.via && !parseAddress(r.via)) c.error('address.invalid', [...base, 'routes', i, 'via'], `'${r.via}' is not an address`);
    });

    // The gateway must be reachable on the link: inside one of the interface's prefixes, or the
    // point-to-point peer (a /32 uplink), or link-local for IPv6.
    for (const node of nodes) {
      if (pick(iface.device, node) === undefined) continue;
      const v4 = parsedStatic(pick(iface.ipv4, node));
      const v6 = parsedStatic(pick(iface.ipv6, node));
      const gw4 = iface.gateway4 ? parseAddress(iface.gateway4) : undefined;
      if (gw4?.family === 4 && v4.length > 0 && iface.peer4 !== iface.gateway4 && !v4.some((n) => contains(n, gw4.addr))) {
        c.error('address.outside-subnet', [...base, 'gateway4'], `gateway ${iface.gateway4} is outside ${v4.map((n) => n.network).join(', ')}${nodes.length > 1 ? ` on node ${node}` : ''}`,
          v4.some((n) => n.prefix === 32) ? `for a /32 uplink set 'peer4: ${iface.gateway4}' (point-to-point)` : 'fix the gateway or the prefix length');
      }
      const gw6 = iface.gateway6 ? parseAddress(iface.gateway6) : undefined;
      if (gw6?.family === 6 && v6.length > 0 && !isLinkLocal(gw6.addr) && !v6.some((n) => contains(n, gw6.addr))) {
        c.error('address.outside-subnet', [...base, 'gateway6'], `gateway ${iface.gateway6} is outside ${v6.map((n) => n.network).join(', ')}`, 'use the router\'s link-local address (e.g. fe80::1) or fix the prefix');
      }
    }
    const members = iface.bridge ?? [];
    if (new Set(members).size !== members.length) c.error('bridge.duplicate-member', [...base, 'bridge'], 'a port is listed twice');
  }

  // Per node: devices unique, bridge ports not also configured as interfaces, no overlapping prefixes.
  for (const node of nodes) {
    const ifaces = interfacesOn(site, node);
    const byDevice = new Map<string, string>();
    const ports = new Map<string, string>();
    for (const [key, iface, dev] of ifaces) {
      const prior = byDevice.get(dev);
      if (prior) c.error('interface.duplicate-device', ['interfaces', key, 'device'], `device ${dev} is already used by interfaces.${prior}${nodes.length > 1 ? ` on node ${node}` : ''}`, 'one interface entry per device; list several addresses under one entry');
      else byDevice.set(dev, key);
      for (const m of iface.bridge ?? []) ports.set(m, key);
    }
    for (const [key, , dev] of ifaces) {
      const br = ports.get(dev);
      if (br) c.error('bridge.port-has-config', ['interfaces', key, 'device'], `${dev} is a port of bridge interfaces.${br}; a bridge port carries no addresses or zone of its own`, `remove interfaces.${key}; its traffic is the bridge's`);
    }
    const seen: { key: string; cidr: Cidr }[] = [];
    for (const [key, iface] of ifaces) {
      for (const field of ['ipv4', 'ipv6'] as const) {
        const v = pick(iface[field], node);
        parsedStatic(v).forEach((cidr, i) => {
          if (isLinkLocal(cidr.addr)) return;
          const p: PathSegment[] = ['interfaces', key, field];
          if (isPerNodeMap(iface[field])) p.push(node);
          if (Array.isArray(v)) p.push(i);
          for (const other of seen) {
            if (other.key !== key && overlaps(other.cidr, cidr)) {
              c.error('address.overlap', p, `${cidr.network} overlaps ${other.cidr.network} of interfaces.${other.key}${nodes.length > 1 ? ` on node ${node}` : ''}`,
                'each link needs its own subnet; to route public addresses onto a link use routes: [{to: ADDRESS}]');
            }
          }
          seen.push({ key, cidr });
        });
      }
    }
  }
}

function checkPerNodeKeys(c: VerifyContext) {
  const { site, nodes } = c;
  for (const [key, iface] of Object.entries(site.interfaces)) {
    for (const field of ['device', 'ipv4', 'ipv6'] as const) {
      const v = iface[field];
      if (!isPerNodeMap(v)) continue;
      for (const n of Object.keys(v)) {
        if (!nodes.includes(n)) {
          c.error('ref.unknown-node', ['interfaces', key, field, n], `'${n}' is not a node of this site`,
            site.nodes ? c.suggest(n, nodes) : `declare it under 'nodes:' (a site without 'nodes:' has one node named '${nodes[0]}')`, true);
        }
      }
    }
  }
}
