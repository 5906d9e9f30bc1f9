// The NAT tables `ip kairo_nat` and `ip6 kairo_nat`: masquerade, SNAT, NPTv6, and port forwards
// as DNAT maps keyed by (address,) protocol and port, so 10 000 forwards cost one lookup.
import type { ForwardModel, NodeModel } from '../../model/types.js';
import type { Family } from '../../lib/ip.js';
import { anon, comment, elementLines, ident, ifnames } from '../../render/nft.js';

function fam(f: Family) {
  return f === 4 ? { table: 'ip', ip: 'ip', addrType: 'ipv4_addr' } : { table: 'ip6', ip: 'ip6', addrType: 'ipv6_addr' };
}

function targetText(f: ForwardModel): string {
  const a = f.target.addr.toString();
  const port = f.target.port ?? f.port;
  return f.family === 6 ? `${a} . ${port}` : `${a} . ${port}`;
}

/** Element comments carry the forward's identity (seed 002 removes rules by a comment). */
function element(key: string, f: ForwardModel): string {
  return `${key} ${comment(`${f.path} ${f.name}`)} : ${targetText(f)}`;
}

interface Group {
  devices: string[];
  byAddr: string[];
  byPort: string[];
  hairpinAddr: string[];
  hairpinLocal: boolean;
  hairpinDevices: Set<string>;
  hairpinSources: Set<string>;
  targets: Set<string>;
  ranges: ForwardModel[];
}

function renderFamily(m: NodeModel, family: Family): string {
  const { table, ip, addrType } = fam(family);
  const pre: string[] = [];
  const post: string[] = [];
  const maps: string[] = [];

  // Forwards, grouped by where they arrive.
  const groups = new Map<string, Group>();
  for (const f of m.forwards.filter((x) => x.family === family && x.fromDevices.length > 0)) {
    const key = f.fromDevices.join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { devices: f.fromDevices, byAddr: [], byPort: [], hairpinAddr: [], hairpinLocal: false, hairpinDevices: new Set(), hairpinSources: new Set(), targets: new Set(), ranges: [] }));
    if (f.portEnd !== undefined) {
      g.ranges.push(f);
      continue;
    }
    for (const proto of f.protos) {
      if (f.destination) g.byAddr.push(element(`${f.destination} . ${proto} . ${f.port}`, f));
      else g.byPort.push(element(`${proto} . ${f.port}`, f));
      if (f.hairpin) {
        f.hairpin.devices.forEach((d) => g!.hairpinDevices.add(d));
        f.hairpin.sources.forEach((s) => g!.hairpinSources.add(s));
        g.targets.add(f.target.addr.toString());
        if (f.hairpin.publicAddresses === 'local') g.hairpinLocal = true;
        else for (const a of f.hairpin.publicAddresses) g.hairpinAddr.push(element(`${a} . ${proto} . ${f.port}`, f));
      }
    }
  }
  let gi = 0;
  for (const g of groups.values()) {
    const n = gi++;
    const mapDecl = (name: string, keyType: string, elems: string[]) =>
      maps.push(`\tmap ${name} {\n\t\ttype ${keyType} : ${addrType} . inet_service\n\t\telements = {\n${elementLines(elems, '\t\t\t', 1)}\n\t\t}\n\t}`);
    const devs = ifnames(g.devices);
    if (g.byAddr.length) {
      mapDecl(ident('pf', String(n), 'addr'), `${addrType} . inet_proto . inet_service`, g.byAddr);
      pre.push(`iifname ${devs} dnat ${ip} to ${ip} daddr . meta l4proto . th dport map @${ident('pf', String(n), 'addr')} ${comment('nat.forwards by address')}`);
    }
    if (g.byPort.length) {
      mapDecl(ident('pf', String(n), 'port'), 'inet_proto . inet_service', g.byPort);
      pre.push(`iifname ${devs} fib daddr type local dnat ${ip} to meta l4proto . th dport map @${ident('pf', String(n), 'port')} ${comment('nat.forwards')}`);
    }
    for (const f of g.ranges) {
      const ports = `${f.port}-${f.portEnd}`;
      const daddr = f.destination ? `${ip} daddr ${f.destination} ` : 'fib daddr type local ';
      pre.push(`iifname ${devs} ${daddr}meta l4proto ${anon(f.protos)} th dport ${ports} dnat ${ip} to ${f.target.addr} ${comment(`${f.path} ${f.name}`)}`);
    }
    // Hairpin: inside clients that use the public address are sent to the target too, and
    // masqueraded so that the reply comes back through the router rather than straight from a neighbour.
    const inside = [...g.hairpinDevices];
    if (inside.length) {
      const sameAsPublic = g.hairpinAddr.length === g.byAddr.length && g.hairpinAddr.every((e, k) => e === g.byAddr[k]);
      if (g.hairpinAddr.length && sameAsPublic) {
        pre.push(`iifname ${ifnames(inside)} dnat ${ip} to ${ip} daddr . meta l4proto . th dport map @${ident('pf', String(n), 'addr')} ${comment('nat.forwards hairpin')}`);
      } else if (g.hairpinAddr.length) {
        mapDecl(ident('pf', String(n), 'hairpin'), `${addrType} . inet_proto . inet_service`, g.hairpinAddr);
        pre.push(`iifname ${ifnames(inside)} dnat ${ip} to ${ip} daddr . meta l4proto . th dport map @${ident('pf', String(n), 'hairpin')} ${comment('nat.forwards hairpin')}`);
      }
      if (g.hairpinLocal && g.byPort.length) {
        pre.push(`iifname ${ifnames(inside)} fib daddr type local dnat ${ip} to meta l4proto . th dport map @${ident('pf', String(n), 'port')} ${comment('nat.forwards hairpin')}`);
      }
      const sources = [...g.hairpinSources];
      if (sources.length) {
        post.push(`oifname ${ifnames(inside)} ${ip} saddr ${anon(sources)} ${ip} daddr ${anon([...g.targets])} ct status dnat masquerade ${comment('nat.forwards hairpin')}`);
      }
    }
  }

  for (const s of m.snat.filter((x) => x.family === family && x.devices.length)) {
    const src = s.sources.length ? ` ${ip} saddr ${anon(s.sources)}` : '';
    post.push(`oifname ${ifnames(s.devices)}${src} snat ${ip} to ${s.to} ${comment(s.path)}`);
  }
  if (family === 6) {
    for (const n of m.npt.filter((x) => x.devices.length)) {
      post.push(`oifname ${ifnames(n.devices)} ip6 saddr ${n.inside.network} snat ip6 prefix to ${n.outside.network} ${comment(n.path)}`);
      pre.unshift(`iifname ${ifnames(n.devices)} ip6 daddr ${n.outside.network} dnat ip6 prefix to ${n.inside.network} ${comment(n.path)}`);
    }
  }
  for (const mq of m.masquerade.filter((x) => x.family === family && x.devices.length)) {
    const src = mq.sources.length ? ` ${ip} saddr ${anon(mq.sources)}` : '';
    post.push(`oifname ${ifnames(mq.devices)}${src} masquerade ${comment(mq.path)}`);
  }

  const ch = (name: string, hook: string, prio: string, lines: string[]) =>
    `\tchain ${name} {\n\t\ttype nat hook ${hook} priority ${prio}; policy accept;\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}`;
  const body = [...maps, ch('prerouting', 'prerouting', 'dstnat', pre), ch('postrouting', 'postrouting', 'srcnat', post)].join('\n\n');
  return `table ${table} kairo_nat {\n${body}\n}\n`;
}

export function renderNatTables(m: NodeModel): string[] {
  return [renderFamily(m, 4), renderFamily(m, 6)];
}
