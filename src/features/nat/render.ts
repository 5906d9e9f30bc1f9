// The NAT tables `ip kairo_nat` and `ip6 kairo_nat`, printed from the NAT plan (plan.ts):
// masquerade, SNAT, NPTv6, and port forwards as DNAT maps keyed by (address,) protocol and port,
// so 10 000 forwards cost one lookup.
import type { NatModel } from './model.js';
import type { Family } from '../../lib/ip.js';
import { anon, comment, elementLines, ifnames } from '../../render/nft.js';
import { natPlan, nptPdChain, type ForwardMap, type MapEntry, type PostRule, type PreRule } from './plan.js';

function fam(f: Family) {
  return f === 4 ? { table: 'ip', ip: 'ip', addrType: 'ipv4_addr' } : { table: 'ip6', ip: 'ip6', addrType: 'ipv6_addr' };
}

/** Element comments carry the forward's identity, so a mapping can be found (and removed) by its name. */
function element(e: MapEntry): string {
  const f = e.forward;
  return `${e.key} ${comment(f.label)} : ${f.target.addr} . ${f.target.port ?? f.port}`;
}

function mapDecl(map: ForwardMap, addrType: string): string {
  const key = map.by === 'addr' ? `${addrType} . inet_proto . inet_service` : 'inet_proto . inet_service';
  const elems = [...map.entries.values()].map(element);
  return `\tmap ${map.name} {\n\t\ttype ${key} : ${addrType} . inet_service\n\t\telements = {\n${elementLines(elems, '\t\t\t', 1)}\n\t\t}\n\t}`;
}

function preText(r: PreRule, ip: string): string {
  const devs = ifnames(r.devices);
  if (r.kind === 'npt') return `iifname ${devs} ip6 daddr ${r.n.outside.network} dnat ip6 prefix to ${r.n.inside.network} ${comment(r.n.path)}`;
  if (r.kind === 'npt-pd') return `iifname ${devs} jump ${nptPdChain(r.n, 'in')} ${comment(`${r.n.path} (delegated prefix)`)}`;
  if (r.kind === 'map') {
    const lookup = r.map.by === 'addr' ? `${ip} daddr . meta l4proto . th dport` : 'meta l4proto . th dport';
    const local = r.map.by === 'port' ? 'fib daddr type local ' : '';
    return `iifname ${devs} ${local}dnat ${ip} to ${lookup} map @${r.map.name} ${comment(r.comment)}`;
  }
  const f = r.f;
  const daddr = r.daddr === 'local' ? 'fib daddr type local' : `${ip} daddr ${anon(r.daddr)}`;
  return `iifname ${devs} ${daddr} meta l4proto ${anon(f.protos)} th dport ${f.port}-${f.portEnd} dnat ${ip} to ${f.target.addr} ${comment(r.comment)}`;
}

function postText(r: PostRule, ip: string): string {
  switch (r.kind) {
    case 'npt-pd':
      return `oifname ${ifnames(r.devices)} jump ${nptPdChain(r.n, 'out')} ${comment(`${r.n.path} (delegated prefix)`)}`;
    case 'hairpin':
      return `oifname ${ifnames(r.devices)} ${ip} saddr ${anon(r.sources)} ${ip} daddr ${anon(r.targets)} ct status dnat masquerade ${comment('nat.forwards hairpin')}`;
    case 'snat':
      return `oifname ${ifnames(r.s.devices)}${r.s.sources.length ? ` ${ip} saddr ${anon(r.s.sources)}` : ''} snat ${ip} to ${r.s.to} ${comment(r.s.path)}`;
    case 'npt':
      return `oifname ${ifnames(r.n.devices)} ip6 saddr ${r.n.inside.network} snat ip6 prefix to ${r.n.outside.network} ${comment(r.n.path)}`;
    case 'masquerade':
      return `oifname ${ifnames(r.mq.devices)}${r.mq.sources.length ? ` ${ip} saddr ${anon(r.mq.sources)}` : ''} masquerade ${comment(r.mq.path)}`;
  }
}

function renderFamily(m: NatModel, family: Family): string {
  const { table, ip, addrType } = fam(family);
  const plan = natPlan(m, family);
  const ch = (name: string, hook: string, prio: string, lines: string[]) =>
    `\tchain ${name} {\n\t\ttype nat hook ${hook} priority ${prio}; policy accept;\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}`;
  // Chains the prefix-delegation follower fills (empty until the ISP has delegated a prefix).
  const pdChains = family === 6 ? m.nptPd.flatMap((n) => (['in', 'out'] as const).map((d) => `\tchain ${nptPdChain(n, d)} {\n\t}`)) : [];
  const body = [
    ...plan.maps.map((x) => mapDecl(x, addrType)),
    ...pdChains,
    ch('prerouting', 'prerouting', 'dstnat', plan.pre.map((r) => preText(r, ip))),
    ch('postrouting', 'postrouting', 'srcnat', plan.post.map((r) => postText(r, ip))),
  ].join('\n\n');
  return `table ${table} kairo_nat {\n${body}\n}\n`;
}

export function renderNatTables(m: NatModel): string[] {
  return [renderFamily(m, 4), renderFamily(m, 6)];
}
