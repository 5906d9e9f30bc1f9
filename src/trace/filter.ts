// Evaluates the filter table `inet kairo` for one packet: the very chains the renderer prints
// (src/features/firewall/chains.ts), rule by rule, following verdict maps and jumps, and names the
// rule that decided. Nothing here restates what the ruleset contains.
import type { NodeModel } from '../model/types.js';
import { featureModel } from '../model/build.js';
import { firewall } from '../features/firewall/index.js';
import type { Chain, FilterTable, FwRule, Match } from '../features/firewall/chains.js';
import { buildFilterTable } from '../features/firewall/chains.js';
import { ruleText } from '../features/firewall/print.js';
import { PORT_PROTOS, familyOf, inElements, portIn, sameAddr } from './match.js';
import type { Decision, Flow, TraceStep } from './types.js';

const TABLE = 'inet kairo';

/** A site with 10 000 forwards is laid out once per model, not once per traced packet. */
const tables = new WeakMap<NodeModel, { table: FilterTable; chains: Map<string, Chain> }>();
function laidOut(m: NodeModel) {
  let t = tables.get(m);
  if (!t) {
    const table = buildFilterTable(featureModel(m, firewall)!, m, m.contributions.firewall);
    tables.set(m, (t = { table, chains: new Map(table.chains.map((x) => [x.name, x])) }));
  }
  return t;
}
export function filterTable(m: NodeModel): FilterTable {
  return laidOut(m).table;
}

interface Ctx {
  flow: Flow;
  /** Output device in the forward hook. */
  oif?: string;
  chains: Map<string, Chain>;
  steps: TraceStep[];
}

/** Why one match does not hold for the packet, or undefined when it does. */
function mismatch(x: Match, c: Ctx): string | undefined {
  const { flow } = c;
  const { pkt } = flow;
  switch (x.kind) {
    case 'iif':
      return x.devices.includes(pkt.iif) ? undefined : `iifname ${pkt.iif} not ${x.devices.join(', ')}`;
    case 'oif':
      return c.oif !== undefined && x.devices.includes(c.oif) ? undefined : `oifname ${c.oif ?? '(none)'} not ${x.devices.join(', ')}`;
    case 'nfproto':
      return flow.family === x.family ? undefined : `meta nfproto ipv${x.family}: the packet is IPv${flow.family}`;
    case 'addr': {
      const fam = x.family === 4 ? 'ip' : 'ip6';
      const addr = x.dir === 'saddr' ? flow.src : flow.dst;
      if (familyOf(addr) !== x.family) return `${fam} ${x.dir}: the packet is IPv${familyOf(addr)}`;
      if (x.set !== undefined && x.elements === undefined) {
        // Filled at run time (a delegated prefix): unknown offline, taken as holding the packet's address.
        return x.negate ? `${x.dir} ${addr} taken as in @${x.set} (filled at run time, unknown offline)` : undefined;
      }
      const inside = inElements(addr, x.elements ?? x.prefixes ?? []);
      const what = x.set !== undefined ? `@${x.set}` : (x.prefixes ?? []).join(', ');
      if (x.negate) return inside ? `${x.dir} ${addr} is in ${what}` : undefined;
      return inside ? undefined : `${x.dir} ${addr} not in ${what}`;
    }
    case 'l4proto':
      return x.protos.includes(pkt.proto) ? undefined : `l4proto ${pkt.proto} not in ${x.protos.join(', ')}`;
    case 'port': {
      if (x.proto && pkt.proto !== x.proto) return `${x.proto} ${x.dir}: the packet is ${pkt.proto}`;
      if (!PORT_PROTOS.includes(pkt.proto)) return `th ${x.dir}: ${pkt.proto} has no ports`;
      const p = x.dir === 'sport' ? pkt.sport : flow.dport;
      return portIn(p, x.ports) ? undefined : `${x.dir} ${p ?? '(none)'} not in ${x.ports.join(', ')}`;
    }
    case 'icmp':
      if (pkt.proto !== x.proto) return `${x.proto} type: the packet is ${pkt.proto}`;
      return pkt.icmpType !== undefined && x.types.includes(pkt.icmpType) ? undefined : `${x.proto} type ${pkt.icmpType ?? '(none)'} not in ${x.types.join(', ')}`;
    case 'hoplimit':
      return flow.family === 6 ? undefined : 'ip6 hoplimit: the packet is IPv4';
    case 'notTranslated':
      return flow.dnatted ? 'translated on the way in (port forward or NPTv6)' : undefined;
    case 'forwardTarget': {
      if (!flow.dnatted) return 'ct status dnat: not translated by a port forward';
      if (flow.dport === undefined || familyOf(flow.dst) !== x.family) return `${flow.dst} . ${pkt.proto} is no forward target`;
      const hit = x.elements.some((t) => {
        const [addr, proto, ports] = t.split(' . ');
        const [lo, hi] = ports.split('-').map(Number);
        return sameAddr(flow.dst, addr) && proto === pkt.proto && flow.dport! >= lo && flow.dport! <= (hi ?? lo);
      });
      return hit ? undefined : `${flow.dst} . ${pkt.proto} . ${flow.dport} not in @${x.set}`;
    }
    case 'tcpSyn':
      return pkt.proto === 'tcp' ? undefined : 'tcp flags: the packet is not tcp';
  }
}

function why(r: FwRule, c: Ctx): string | undefined {
  for (const x of r.matches) {
    const w = mismatch(x, c);
    if (w) return w;
  }
  return undefined;
}

const labelOf = (r: FwRule) => (r.decides?.name ? `${r.decides.path} ${r.decides.name}` : r.decides?.path ?? '');

/** Runs one chain; undefined when it ends without a verdict (control returns to the caller). */
function runChain(name: string, c: Ctx): Decision | undefined {
  const chain = c.chains.get(name);
  if (!chain) return undefined;
  const step = (text: string, extra: Partial<TraceStep> = {}) => c.steps.push({ table: TABLE, chain: name, text, ...extra });
  for (const r of chain.rules) {
    const v = r.verdict;
    if (v?.kind === 'ctState') {
      if (c.flow.state === 'new') continue;
      const verdict = c.flow.state === 'invalid' ? 'drop' : 'accept';
      const path = `base: ct state ${c.flow.state}`;
      step(`ct state vmap: ${c.flow.state} : ${verdict}`, { path, verdict });
      return { verdict, decidedBy: { path } };
    }
    const w = why(r, c);
    if (w) {
      if (r.decides?.user) step(`${labelOf(r)}: no match (${w})`, { path: r.decides.path });
      continue;
    }
    if (v?.kind === 'vmap') {
      const dev = v.key === 'iif' ? c.flow.pkt.iif : c.oif;
      const e = v.entries.find((x) => x.device === dev);
      if (!e) {
        step(`${v.key === 'iif' ? 'iifname' : 'oifname'} vmap: "${dev}" has no entry (in no zone)`);
        continue;
      }
      const key = v.key === 'iif' ? 'iifname' : 'oifname';
      if (typeof e.target === 'string') {
        step(`${key} vmap: "${dev}" : ${e.target} (${e.note})`, { path: e.decides?.path, verdict: e.target });
        return { verdict: e.target, decidedBy: e.decides ?? { path: `${name}: ${key} vmap` } };
      }
      step(`${key} vmap: "${dev}" : jump ${e.target.jump} (${e.note})`);
      const d = runChain(e.target.jump, c);
      if (d) return d;
      continue;
    }
    if (v?.kind === 'jump') {
      step(ruleText(r));
      const d = runChain(v.chain, c);
      if (d) return d;
      continue;
    }
    const notes = [r.assumes ?? '', r.limit ? `limit rate ${r.limit.rate} treated as not exceeded` : '', r.log !== undefined && v ? 'logged' : ''].filter(Boolean);
    const text = `${ruleText(r)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
    if (!v) {
      // A statement without a verdict (a log line): the packet goes on to the next rule.
      step(r.log !== undefined ? `log ${r.nflog !== undefined ? `group ${r.nflog} ` : ''}prefix "${r.log}" (rate-limited, no verdict)` : text, { path: r.decides?.path });
      continue;
    }
    const verdict = v.kind === 'reject' ? 'reject' : v.kind;
    step(text, { path: r.decides?.path, verdict });
    return { verdict, decidedBy: { path: r.decides?.path ?? `${name}: unnamed rule`, name: r.decides?.name } };
  }
  return undefined;
}

function hook(m: NodeModel, chainName: 'input' | 'forward', flow: Flow, steps: TraceStep[], oif?: string): Decision {
  const c: Ctx = { flow, oif, chains: laidOut(m).chains, steps };
  const d = runChain(chainName, c);
  if (d) return d;
  // Every chain kairo writes ends in a verdict; the base chain's policy is the last word.
  const path = `base: ${chainName} policy drop`;
  steps.push({ table: TABLE, chain: chainName, text: 'end of chain: policy drop', path, verdict: 'drop' });
  return { verdict: 'drop', decidedBy: { path } };
}

export function inputHook(m: NodeModel, flow: Flow, steps: TraceStep[]): Decision {
  return hook(m, 'input', flow, steps);
}

export function forwardHook(m: NodeModel, flow: Flow, oif: string, steps: TraceStep[]): Decision {
  return hook(m, 'forward', flow, steps, oif);
}
