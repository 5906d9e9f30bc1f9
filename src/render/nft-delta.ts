// Incremental ruleset updates. A one-rule edit of a site with 100 000 blocklist entries should not
// reload 3 MB of ruleset: compare the previous and the new rendered text block by block (sets, maps,
// chains) and emit one nft transaction that flushes and refills only the chains that changed and
// adds or deletes only the set and map elements that changed. Still one `nft -f`, so still atomic.
// Pure; falls back to the full replace whenever the structure changed in a way a delta cannot say.

export interface NftBlock {
  kind: 'set' | 'map' | 'chain';
  name: string;
  /** Lines between the braces, tab-indented as rendered. */
  body: string[];
}

export interface NftTable {
  family: string;
  name: string;
  blocks: Map<string, NftBlock>;
}

/** Parses kairo's own rendered text (the renderer's layout, not nft's general grammar). */
export function parseRendered(text: string): Map<string, NftTable> | undefined {
  const tables = new Map<string, NftTable>();
  const lines = text.split('\n');
  let table: NftTable | undefined;
  let block: NftBlock | undefined;
  for (const line of lines) {
    // Most lines are rule or element lines inside a block: take them without a regular expression.
    if (block && line.charCodeAt(0) === 9 && line.charCodeAt(1) === 9) {
      block.body.push(line);
      continue;
    }
    if (!table) {
      const t = /^table (\S+) (\S+) \{$/.exec(line);
      if (t) {
        table = { family: t[1], name: t[2], blocks: new Map() };
        tables.set(`${t[1]} ${t[2]}`, table);
      }
      continue;
    }
    if (!block) {
      if (line === '}') {
        table = undefined;
        continue;
      }
      const b = /^\t(set|map|chain) (\S+) \{$/.exec(line);
      if (b) {
        block = { kind: b[1] as NftBlock['kind'], name: b[2], body: [] };
        table.blocks.set(`${b[1]} ${b[2]}`, block);
      } else if (line.trim() !== '') return undefined; // not kairo's layout
      continue;
    }
    if (line === '\t}') block = undefined;
    else block.body.push(line);
  }
  return table || block ? undefined : tables;
}

/** Splits `a, b comment "x, y" : c, d` at top-level commas (not inside quotes or braces). */
function splitElements(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '{' || ch === '(')) depth++;
    if (!quoted && (ch === '}' || ch === ')')) depth--;
    if (ch === ',' && !quoted && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** A set or map block as declaration lines plus its elements. */
function splitSet(b: NftBlock): { decl: string[]; elements: string[] } {
  const start = b.body.findIndex((l) => /^\t\telements = \{$/.test(l));
  if (start < 0) return { decl: b.body, elements: [] };
  const end = b.body.lastIndexOf('\t\t}');
  return { decl: [...b.body.slice(0, start), ...b.body.slice(end + 1)], elements: splitElements(b.body.slice(start + 1, end).join(' ')) };
}

/** Element identity: the key (for maps, what stands before ` : `), without its comment. */
function elementKey(e: string): string {
  const colon = e.lastIndexOf(' : ');
  const key = colon >= 0 ? e.slice(0, colon) : e;
  return key.replace(/ comment "[^"]*"/, '').trim();
}

function blockText(b: NftBlock): string {
  return `\t${b.kind} ${b.name} {\n${b.body.join('\n')}\n\t}`;
}

export interface Delta {
  /** The nft script; empty when nothing changed. */
  script: string;
  /** Human summary: chains replaced, elements added/removed. */
  summary: string[];
}

function chunked(prefix: string, items: string[], size = 5000): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += size) out.push(`${prefix} { ${items.slice(i, i + size).join(', ')} }`);
  return out;
}

/**
 * The nft script that turns the ruleset `before` (as rendered and loaded earlier) into `after`.
 * Undefined when only a full replace can do it (tables added or removed, a set's type changed,
 * a base chain's hook changed, or text not in kairo's layout).
 */
export function rulesetDelta(before: string, after: string): Delta | undefined {
  const a = parseRendered(before);
  const b = parseRendered(after);
  if (!a || !b) return undefined;
  if ([...a.keys()].sort().join('|') !== [...b.keys()].sort().join('|')) return undefined;
  const flush: string[] = [];
  const deletes: string[] = [];
  const adds: string[] = [];
  const elementOps: string[] = [];
  const summary: string[] = [];
  for (const [key, tb] of b) {
    const ta = a.get(key)!;
    const scope = `${tb.family} ${tb.name}`;
    const newBlocks: string[] = [];
    for (const [bk, blk] of ta.blocks) {
      if (!tb.blocks.has(bk)) {
        if (blk.kind === 'chain') {
          flush.push(`flush chain ${scope} ${blk.name}`);
          deletes.push(`delete chain ${scope} ${blk.name}`);
        } else deletes.push(`delete ${blk.kind} ${scope} ${blk.name}`);
        summary.push(`- ${blk.kind} ${scope} ${blk.name}`);
      }
    }
    for (const [bk, nb] of tb.blocks) {
      const ob = ta.blocks.get(bk);
      if (!ob) {
        newBlocks.push(blockText(nb));
        summary.push(`+ ${nb.kind} ${scope} ${nb.name}`);
        continue;
      }
      if (ob.body.join('\n') === nb.body.join('\n')) continue;
      if (nb.kind === 'chain') {
        const hook = (c: NftBlock) => c.body.find((l) => l.includes(' hook ')) ?? '';
        if (hook(ob) !== hook(nb)) return undefined;
        flush.push(`flush chain ${scope} ${nb.name}`);
        newBlocks.push(blockText(nb));
        summary.push(`~ chain ${scope} ${nb.name} (${nb.body.length} lines)`);
        continue;
      }
      const os = splitSet(ob);
      const ns = splitSet(nb);
      if (os.decl.join('\n') !== ns.decl.join('\n')) return undefined;
      if (ns.decl.some((l) => /\bflags\b.*\binterval\b/.test(l))) {
        // Interval sets merge adjacent elements in the kernel (auto-merge), so an element written
        // in the file may not exist there to delete: refill the whole set, still in the one transaction.
        elementOps.push(`flush ${nb.kind} ${scope} ${nb.name}`, ...chunked(`add element ${scope} ${nb.name}`, ns.elements));
        summary.push(`~ ${nb.kind} ${scope} ${nb.name}: refilled with ${ns.elements.length} elements`);
        continue;
      }
      const oldByKey = new Map(os.elements.map((e) => [elementKey(e), e]));
      const newByKey = new Map(ns.elements.map((e) => [elementKey(e), e]));
      const removed = [...oldByKey].filter(([k, e]) => newByKey.get(k) !== e).map(([k]) => k);
      const added = [...newByKey].filter(([k, e]) => oldByKey.get(k) !== e).map(([, e]) => e);
      elementOps.push(...chunked(`delete element ${scope} ${nb.name}`, removed), ...chunked(`add element ${scope} ${nb.name}`, added));
      summary.push(`~ ${nb.kind} ${scope} ${nb.name}: +${added.length} -${removed.length} elements`);
    }
    if (newBlocks.length) adds.push(`table ${scope} {\n${newBlocks.join('\n\n')}\n}`);
  }
  // Order matters inside the one transaction: empty the chains first (they may reference sets
  // and chains about to go), delete, then change elements and (re)fill chains.
  const script = [...flush, ...deletes, ...elementOps, ...adds].join('\n');
  return { script: script ? script + '\n' : '', summary };
}
