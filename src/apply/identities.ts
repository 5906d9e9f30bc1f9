// What a ruleset holds in the user's terms, read back from its text: port forwards, firewall rules,
// policies and sets by their names in the site file. Pure: text in, items out. Used by the plan to
// say "- forward nat.forwards[web]" instead of a thousand-line diff.
//
// Identities come from the comments kairo writes (render/nft.ts `comment()`):
//   filter rules          ... comment "firewall.rules[ssh]"        (firewall.rules[3] when unnamed)
//   policies              ... comment "firewall.policies[lan>wan]"  (the end of a zone-pair chain)
//                         or, for a pair with no rules, a bare verdict in its source zone's
//                         `oifname vmap { "eth1" : accept }`, with no comment: the zones are
//                         read from the dispatch maps and the chains' closing comments
//   the default policy    ... comment "firewall.default (lan → unlisted)"
//   port forwards         map elements `KEY comment "nat.forwards[web]" : TARGET`, and rules for
//                         port ranges with the same comment (`... hairpin` for the inside copy)
//   other NAT             ... comment "nat.masquerade[0]" (snat, npt likewise)
//   sets                  set set_NAME { ... }   (the site's `sets.NAME`)
// Everything else (base chains, dispatch maps, sets derived from the forwards) is structure that
// follows from the items above or from the interfaces; it is compared as a whole ("other lines").
//
// Both kairo's file format and `nft list` output are understood (tables, chains, sets and maps as
// blocks; elements one or several a line), but an item's body is compared only between texts of
// the same format: the plan compares the live ruleset file with the planned one.

import { parseIni } from '../targets/networkd-interpreter.js';

export type ItemKind = 'forward' | 'rule' | 'policy' | 'set' | 'nat' | 'ruleset';

export interface RulesetItem {
  kind: ItemKind;
  /** The config path: `nat.forwards[web]`, `firewall.rules[ssh]`, `firewall.policies[lan>wan]`, `sets.public`. */
  name: string;
  /** What it is in the ruleset, normalised; equal bodies mean an unchanged item. */
  body: string[];
  /** Sets only: their elements. */
  elements?: string[];
}

export interface Ruleset {
  items: Map<string, RulesetItem>;
  /** Lines that belong to no item (structure), normalised. */
  other: string[];
}

const COMMENT = /\s*\bcomment\s+"((?:[^"\\]|\\.)*)"/;
const COMMENTS = new RegExp(COMMENT.source, 'g');

/** The item a comment names, if any. */
export function identify(label: string): { kind: ItemKind; name: string } | undefined {
  let m = /^(firewall\.rules\[[^\]]*\])/.exec(label);
  if (m) return { kind: 'rule', name: m[1] };
  if ((m = /^(firewall\.policies\[[^\]]*\])/.exec(label))) return { kind: 'policy', name: m[1] };
  if (/^firewall\.default\b/.test(label)) return { kind: 'policy', name: 'firewall.default' };
  if ((m = /^(nat\.forwards\[[^\]]*\])/.exec(label))) return { kind: 'forward', name: m[1] };
  if (/^nat\.forwards\b/.test(label)) return undefined; // the forwards' shared rules: structure
  if ((m = /^(nat\.[a-z0-9-]+\[[^\]]*\])/.exec(label))) return { kind: 'nat', name: m[1] };
  // Any other config path (interfaces.dmz.ds-lite, interfaces.lan.ipv6-from): a ruleset item by that path.
  if ((m = /^([a-z][\w-]*(?:\.[\w-]+|\[[^\]]*\])+)/.exec(label)) && /[.[]/.test(m[1])) return { kind: 'ruleset', name: m[1] };
  return undefined;
}

/** Splits on commas outside quotes and brackets: `a . b comment "x, y" : c, d` → two elements. */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted) {
      cur += ch + (text[++i] ?? '');
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '{' || ch === '[')) depth++;
    else if (!quoted && (ch === '}' || ch === ']')) depth--;
    if (ch === ',' && !quoted && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** `{` minus `}` outside quotes. */
function braceDelta(line: string): number {
  let d = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '{') d++;
    else if (!quoted && ch === '}') d--;
  }
  return d;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
const withoutComment = (s: string) => squash(s.replace(COMMENTS, ''));
/** A policy's body is its verdicts, wherever they are written (a chain's end or a dispatch map). */
const verdict = (s: string) => squash(withoutComment(s).replace(/\bcounter( packets \d+ bytes \d+)?/g, ''));
/** Port-forward maps are numbered by arrival-device group (pf_0_addr); the number is not the user's. */
const mapKind = (name: string) => name.replace(/^pf_\d+_/, 'pf_');
/** Labels longer than the kernel allows are cut (render/nft.ts); a name is what is left. */
const unquote = (s: string) => s.replace(/\\(.)/g, '$1');

interface Block {
  kind: 'table' | 'chain' | 'set' | 'map' | 'elements' | 'other';
  name: string;
  /** Elements blocks: the text collected so far. */
  text?: string;
  open: number;
}

export function parseRuleset(text: string): Ruleset {
  const items = new Map<string, RulesetItem>();
  const other: string[] = [];
  const item = (kind: ItemKind, name: string): RulesetItem => {
    const key = `${kind} ${name}`;
    let it = items.get(key);
    if (!it) items.set(key, (it = { kind, name, body: [] }));
    return it;
  };
  // For policies written as bare verdicts: device → source-zone chain (forward dispatch), chain →
  // zone (from the comments that close in_ZONE / from_ZONE chains), and the verdicts themselves.
  const devChain = new Map<string, string>();
  const chainZone = new Map<string, string>();
  const bareVerdicts: { chain: string; dev: string; verdict: string }[] = [];

  const stack: Block[] = [];
  let depth = 0;
  let table = '';
  const inner = () => stack[stack.length - 1];
  const chainName = () => [...stack].reverse().find((b) => b.kind === 'chain')?.name ?? '';
  const setBlock = () => [...stack].reverse().find((b) => b.kind === 'set' || b.kind === 'map');

  const element = (raw: string) => {
    const blk = setBlock();
    if (!blk) return;
    const label = COMMENT.exec(raw)?.[1];
    const id = label ? identify(unquote(label)) : undefined;
    if (blk.kind === 'set' && blk.name.startsWith('set_')) {
      item('set', `sets.${blk.name.slice(4)}`).elements!.push(withoutComment(raw));
    } else if (id) item(id.kind, id.name).body.push(`${table} map ${mapKind(blk.name)}: ${withoutComment(raw)}`);
    // Elements of sets and maps kairo derives (forward targets, dispatch) are not compared: they follow from the items.
  };

  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const blk = inner();
    const delta = braceDelta(line);

    if (blk?.kind === 'elements') {
      blk.text += ` ${line}`;
      depth += delta;
      if (depth < blk.open) {
        // The closing brace ends the elements; anything before it is elements too.
        const body = blk.text!.replace(/}\s*$/, '');
        stack.pop();
        for (const e of splitTop(body)) element(e);
      }
      continue;
    }

    let m: RegExpExecArray | null;
    if ((m = /^table\s+(\S+\s+\S+)\s*\{$/.exec(line))) {
      table = m[1];
      stack.push({ kind: 'table', name: m[1], open: ++depth });
      continue;
    }
    if ((m = /^(chain|set|map)\s+(\S+)\s*\{$/.exec(line))) {
      const kind = m[1] as 'chain' | 'set' | 'map';
      stack.push({ kind, name: m[2], open: ++depth });
      if (kind === 'set' && m[2].startsWith('set_')) item('set', `sets.${m[2].slice(4)}`).elements ??= [];
      continue;
    }
    if ((m = /^elements\s*=\s*\{(.*)$/.exec(line))) {
      depth += delta;
      const rest = m[1];
      if (delta === 0) {
        for (const e of splitTop(rest.replace(/}\s*$/, ''))) element(e); // all on one line
      } else stack.push({ kind: 'elements', name: '', text: rest, open: depth });
      continue;
    }
    if (line === '}' || /^}\s*$/.test(line)) {
      depth += delta;
      while (stack.length && inner().open > depth) stack.pop();
      continue;
    }

    // Set and map headers (type, flags, auto-merge): part of a user set's identity, else structure.
    const sb = blk && (blk.kind === 'set' || blk.kind === 'map') ? blk : undefined;
    if (sb) {
      if (sb.kind === 'set' && sb.name.startsWith('set_')) item('set', `sets.${sb.name.slice(4)}`).body.push(squash(line));
      else other.push(`${table} ${sb.kind} ${mapKind(sb.name)}: ${squash(line)}`);
      depth += delta;
      continue;
    }

    const chain = chainName();
    // Dispatch maps: `"eth1" : jump from_lan` in the forward chain; bare verdicts in from_ZONE chains.
    const el = /^"([^"]+)"\s*:\s*(.+?),?$/.exec(line);
    if (el && blk?.kind === 'other') {
      const target = el[2].trim();
      const jump = /^jump\s+(\S+)$/.exec(target);
      if (chain === 'forward' && jump) devChain.set(el[1], jump[1]);
      else if (/^(accept|drop|reject)\b/.test(target) && chain.startsWith('from_')) {
        bareVerdicts.push({ chain, dev: el[1], verdict: target });
        continue; // a policy, not structure
      }
    }

    const label = COMMENT.exec(line)?.[1];
    const id = label ? identify(unquote(label)) : undefined;
    if (label && (chain.startsWith('in_') || chain.startsWith('from_')) && !chainZone.has(chain)) {
      const z = /^firewall\.default \((.+?) → /.exec(unquote(label)) ?? /^firewall\.policies\[(.+?)>/.exec(unquote(label));
      if (z) chainZone.set(chain, z[1]);
    }
    if (id?.kind === 'policy') item('policy', id.name).body.push(verdict(line));
    else if (id) item(id.kind, id.name).body.push(`${table} ${chain}: ${withoutComment(line)}`);
    // Without the separator: removing a map's last element does not change the line before it.
    else other.push(`${table} ${chain}: ${squash(line).replace(/,$/, '')}`);

    if (delta > 0) stack.push({ kind: 'other', name: line, open: depth + delta });
    depth += delta;
    while (stack.length && inner().open > depth) stack.pop();
  }

  for (const v of bareVerdicts) {
    const from = chainZone.get(v.chain);
    const toChain = devChain.get(v.dev);
    const to = toChain && chainZone.get(toChain);
    if (from && to) item('policy', `firewall.policies[${from}>${to}]`).body.push(v.verdict);
  }
  for (const it of items.values()) {
    // A policy says the same thing once per device of its zones: one verdict is enough.
    if (it.kind === 'policy') it.body = [...new Set(it.body)];
    it.body.sort();
  }
  return { items, other: other.sort() };
}

export type ChangeKind = '+' | '~' | '-';

export interface ItemChange {
  kind: ChangeKind;
  what: ItemKind;
  name: string;
  detail?: string;
}

function counted(a: readonly string[], b: readonly string[]): { added: number; removed: number } {
  const count = new Map<string, number>();
  for (const x of a) count.set(x, (count.get(x) ?? 0) + 1);
  let added = 0;
  for (const x of b) {
    const n = count.get(x) ?? 0;
    if (n > 0) count.set(x, n - 1);
    else added++;
  }
  let removed = 0;
  for (const n of count.values()) removed += n;
  return { added, removed };
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

const ORDER: Record<ItemKind, number> = { forward: 0, rule: 1, policy: 2, set: 3, nat: 4, ruleset: 5 };

/** Items added, changed and removed from `live` to `planned` (ruleset texts), and how many structure lines differ. */
export function compareRulesets(live: string, planned: string): { changes: ItemChange[]; other: { added: number; removed: number } } {
  const a = parseRuleset(live);
  const b = parseRuleset(planned);
  const changes: ItemChange[] = [];
  for (const [key, it] of b.items) {
    const was = a.items.get(key);
    if (!was) {
      changes.push({ kind: '+', what: it.kind, name: it.name, ...(it.elements ? { detail: `${it.elements.length} element${it.elements.length === 1 ? '' : 's'}` } : {}) });
      continue;
    }
    const elems = it.elements && was.elements ? counted([...was.elements].sort(), [...it.elements].sort()) : undefined;
    const bodyChanged = !same(was.body, it.body);
    if (!bodyChanged && (!elems || elems.added + elems.removed === 0)) continue;
    const detail = [elems && elems.added + elems.removed ? `+${elems.added} −${elems.removed} elements` : '', it.kind === 'set' && bodyChanged ? 'type or flags' : ''].filter(Boolean).join(', ');
    changes.push({ kind: '~', what: it.kind, name: it.name, ...(detail ? { detail } : {}) });
  }
  for (const [key, it] of a.items) if (!b.items.has(key)) changes.push({ kind: '-', what: it.kind, name: it.name });
  changes.sort((x, y) => ORDER[x.what] - ORDER[y.what]);
  return { changes, other: counted(a.other, b.other) };
}

/** Host routes on bridges in networkd files: the routed hosts (VMs) of a site, address → bridge. */
export function routedHostsOf(files: readonly { path: string; content: string }[]): Map<string, string> {
  const parse = parseIni;
  const bridges = new Set<string>();
  const get = (s: { entries: [string, string][] } | undefined, k: string) => s?.entries.find(([key]) => key === k)?.[1];
  for (const f of files.filter((x) => x.path.endsWith('.netdev'))) {
    const nd = parse(f.content).find((s) => s.name === 'NetDev');
    if (get(nd, 'Kind') === 'bridge' && get(nd, 'Name')) bridges.add(get(nd, 'Name')!);
  }
  const out = new Map<string, string>();
  for (const f of files.filter((x) => x.path.endsWith('.network'))) {
    const s = parse(f.content);
    const dev = get(s.find((x) => x.name === 'Match'), 'Name');
    if (!dev || !bridges.has(dev)) continue;
    for (const r of s.filter((x) => x.name === 'Route')) {
      const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/32)?$/.exec(get(r, 'Destination') ?? '');
      if (m && !get(r, 'Gateway')) out.set(m[1], dev);
    }
  }
  return out;
}
