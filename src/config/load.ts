// YAML text → typed Site, keeping every node's line:column so that any later stage can point a
// diagnostic at the user's file. Pure: the caller reads the file.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import jsyaml from 'js-yaml';
import type { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';
import { siteSchema, type Site } from './schema.js';
import { formatPath, shown, sortDiagnostics, tidyDiagnostic, type Diagnostic, type PathSegment } from './diagnostics.js';
import { expectedKind, kindOf, userWording } from './issues.js';
import { deepestPoint, MAX_NESTING, normalizeLineBreaks, positionOf } from './yaml-text.js';

export interface Position {
  file: string;
  line: number;
  column: number;
}

/** Entries `path[start..]` were read from `file`, entry k from line `lines[k]`. */
export interface ElementOrigin {
  path: string;
  start: number;
  file: string;
  lines: number[];
}

export function originOf(source: SourceMap, path: readonly PathSegment[]): Position | undefined {
  const last = path[path.length - 1];
  if (typeof last !== 'number' || source.origins.length === 0) return undefined;
  const parent = formatPath(path.slice(0, -1));
  const o = source.origins.find((x) => x.path === parent && last >= x.start && last < x.start + x.lines.length);
  return o && { file: o.file, line: o.lines[last - o.start], column: 1 };
}

export interface SourceMap {
  file: string;
  /** Values that came from other files (set entries read from a list file): where they stand there. */
  origins: ElementOrigin[];
  /** Line and column (1-based) of the value at `path`; of its key when `key` is set. Falls back to the nearest ancestor. */
  locate(path: readonly PathSegment[], key?: boolean): { line: number; column: number };
}

export interface LoadResult {
  site?: Site;
  /**
   * When the schema refused parts of the file: the rest of it, with those parts cut out, so that
   * semantic checks can still report on what remains (never modelled or rendered).
   */
  partial?: { site: Site; /** Lists an entry was cut from, and from which index on the entries moved up (their paths are not the user's). */ shifted: { path: string; from: number }[] };
  source: SourceMap;
  diagnostics: Diagnostic[];
}

/**
 * Positions come from the `yaml` library's document, which keeps every node's range but parses
 * ten times slower than js-yaml. It is only built when something needs a position, i.e. when there
 * is a diagnostic to print; a clean 3 MB site never pays for it.
 */
export function lazySourceMap(file: string, text: string): SourceMap {
  let inner: SourceMap | undefined;
  return {
    file,
    origins: [],
    locate(path, key) {
      if (!inner) {
        // `text` has LF line breaks only (loadSite) and nests less than MAX_NESTING (js-yaml read it).
        const lines = new LineCounter();
        // js-yaml refuses duplicate keys, so the `yaml` library's own check (quadratic in a
        // mapping's size: 0.9 s for 16 000 keys) has nothing to find.
        inner = makeSourceMap(file, parseDocument(text, { lineCounter: lines, uniqueKeys: false }), lines);
      }
      return inner.locate(path, key);
    },
  };
}

export function makeSourceMap(file: string, doc: Document, lines: LineCounter): SourceMap {
  const pos = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // One index per mapping, built on first use: locating each of 16 000 unknown keys by scanning its
  // mapping was quadratic (9.6 s). The first pair of a key wins, as a scan would find it.
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, seg: PathSegment): Pair | undefined => {
    let index = indexes.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) if (isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
      indexes.set(map, index);
    }
    return index.get(String(seg));
  };
  return {
    file,
    origins: [],
    locate(path, key = false) {
      // Walk down as far as the document goes; report the deepest node that exists.
      let node: unknown = doc.contents;
      let best: { line: number; column: number } = { line: 1, column: 1 };
      if (node && (node as Node).range) best = pos((node as Node).range![0]);
      for (let i = 0; i < path.length; i++) {
        const seg = path[i];
        if (isMap(node)) {
          const pair = pairOf(node, seg);
          if (!pair) return best;
          const last = i === path.length - 1;
          const keyNode = pair.key as Node;
          if (last && key && keyNode.range) return pos(keyNode.range[0]);
          node = pair.value;
          const target = (node as Node | null)?.range ? (node as Node) : keyNode;
          if (target?.range) best = pos(target.range[0]);
        } else if (isSeq(node) && typeof seg === 'number') {
          node = node.items[seg];
          if ((node as Node | undefined)?.range) best = pos((node as Node).range![0]);
          else return best;
        } else if (isPair(node)) {
          node = node.value;
        } else {
          return best;
        }
      }
      return best;
    },
  };
}

/** The object keys the schema allows at `path`, for "did you mean". */
function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const walk = (s: any, rest: readonly PathSegment[]): string[] => {
    const def = s?._zod?.def;
    if (!def) return [];
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
        return walk(def.innerType, rest);
      case 'pipe':
        return walk(def.in, rest);
      case 'union':
        return [...new Set(def.options.flatMap((o: any) => walk(o, rest)))] as string[];
      case 'object':
        if (rest.length === 0) return Object.keys(def.shape);
        return walk(def.shape[rest[0] as string], rest.slice(1));
      case 'record':
        return rest.length === 0 ? [] : walk(def.valueType, rest.slice(1));
      case 'array':
        return rest.length === 0 ? [] : walk(def.element, rest.slice(1));
      default:
        return [];
    }
  };
  return walk(schema, path);
}

function suggest(word: string, candidates: string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

type Issue = z.core.$ZodIssue;

/** zod reports one issue per failed union branch; keep the branch that got furthest, so the user sees the real problem. */
function flattenIssue(issue: Issue): Issue[] {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branches = issue.errors.map((errs) => errs.flatMap(flattenIssue).map((e) => ({ ...e, path: [...issue.path, ...e.path] })));
    // Prefer the branch whose issues are deepest (it matched the shape furthest), then the fewest issues.
    const depth = (errs: Issue[]) => Math.max(...errs.map((e) => e.path.length));
    const typeOnly = (errs: Issue[]) => errs.every((e) => e.code === 'invalid_type' && e.path.length === issue.path.length);
    const ranked = branches
      .filter((b) => b.length > 0)
      .sort((a, b) => Number(typeOnly(a)) - Number(typeOnly(b)) || depth(b) - depth(a) || a.length - b.length);
    const bestBranch = ranked[0];
    if (bestBranch && !typeOnly(bestBranch)) return bestBranch;
    return [{ ...issue, errors: [] } as Issue];
  }
  return [issue];
}

function issueMessage(issue: Issue): { message: string; hint?: string } {
  switch (issue.code) {
    case 'invalid_type':
      return { message: issue.input === undefined ? `missing; expected ${expectedKind(issue.expected)}` : `expected ${expectedKind(issue.expected)}, got ${kindOf(issue.input)}` };
    case 'invalid_union':
      return { message: 'value has none of the accepted forms', hint: 'see `kairo schema` for the forms this key takes' };
    case 'invalid_value':
      if (issue.input === undefined) return { message: `missing; expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}` };
      return { message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return userWording(issue);
  }
}

/** Paths of every mapping key equal to `name` (own keys only), depth-first, iteratively. */
function keysNamed(data: unknown, name: string): PathSegment[][] {
  const out: PathSegment[][] = [];
  const stack: [unknown, PathSegment[]][] = [[data, []]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, [...path, i]]));
    else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        if (k === name) out.push([...path, k]);
        else stack.push([(v as Record<string, unknown>)[k], [...path, k]]);
      }
    }
  }
  return out;
}

/** Where a YAML parser gave up, as the user should read it. */
function yamlDiagnostic(file: string, at: { line: number; column: number }, message: string, hint = 'check indentation and quoting near this line'): Diagnostic {
  return { code: 'yaml.syntax', severity: 'error', path: '', message, hint, file, ...at };
}

function tooDeep(file: string, at: { line: number; column: number }): Diagnostic {
  return {
    code: 'yaml.too-deep', severity: 'error', path: '', file, ...at,
    message: `lists and mappings nest more than ${MAX_NESTING} levels deep here (a site file needs about 6)`,
    hint: 'a [ or { that is never closed makes everything after it nest deeper: check the brackets up to this point',
  };
}

/** js-yaml's complaint about an alias (`*name`) without its anchor, in the user's terms. */
function unknownAlias(reason: string): { message: string; hint: string } | undefined {
  const m = /^unidentified alias "(.*)"$/.exec(reason);
  if (!m) return undefined;
  const a = shown(m[1]);
  return {
    message: `*${a} refers to no anchor: an alias repeats a value marked &${a} earlier in the file`,
    hint: `mark that value with &${a}, or quote the text if the * is meant literally ("*${a}")`,
  };
}

function syntaxDiagnostics(text: string, file: string): Diagnostic[] {
  const lines = new LineCounter();
  // Duplicate keys are found below in one pass; the library's check is quadratic in a mapping's size.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const found = doc.errors.map((err) => {
    const p = lines.linePos(err.pos[0]);
    const at = { line: p.line, column: p.col };
    // The library catches its own stack overflow and reports it as a syntax error; deepestPoint()
    // keeps it from getting there, this is the fallback.
    if (err.message.includes('Maximum call stack size exceeded')) return tooDeep(file, at);
    const hint = err.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping' : err.code === 'BAD_ALIAS' ? 'an alias is *name after a value marked &name; quote the text if * or & is meant literally' : undefined;
    return yamlDiagnostic(file, at, err.message.split('\n')[0], hint);
  });
  return sortDiagnostics([...found, ...duplicateKeys(doc, lines, file)]);
}

/** A key written twice in one mapping: js-yaml refuses it, and the user needs both places. */
function duplicateKeys(doc: Document, lines: LineCounter, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  visit(doc, {
    Map(_, map) {
      const first = new Map<string, Node>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || !pair.key.range) continue;
        const k = String(pair.key.value);
        const prior = first.get(k);
        if (!prior) first.set(k, pair.key);
        else out.push(yamlDiagnostic(file, at(pair.key.range[0]), `key '${shown(k)}' is written twice in this mapping (first on line ${at(prior.range![0]).line})`, 'each key may appear once in a mapping; merge the two'));
      }
    },
  });
  return out;
}

/**
 * Nesting beyond this is refused before the `yaml` library parses the text: it recurses per
 * level, overflows its stack at about 900 and takes seconds on a 1 MB run of brackets long before.
 */
const YAML_LIBRARY_NESTING = 4 * MAX_NESTING;

export function loadSite(raw: string, file = 'site.yaml'): LoadResult {
  const r = loadText(normalizeLineBreaks(raw), file);
  return { ...r, diagnostics: r.diagnostics.map(tidyDiagnostic) };
}

function loadText(text: string, file: string): LoadResult {
  const source = lazySourceMap(file, text);
  const diagnostics: Diagnostic[] = [];

  // Fast path: js-yaml with the YAML 1.2 core schema (no timestamps, no merge keys), which the
  // `yaml` library also uses, so both read a document the same way.
  let data: unknown;
  try {
    // js-yaml has a maxDepth option that its types do not list yet.
    data = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, filename: file, maxDepth: MAX_NESTING } as jsyaml.LoadOptions);
  } catch (e) {
    const reason = (e as jsyaml.YAMLException).reason ?? String(e);
    const mark = (e as jsyaml.YAMLException).mark;
    const at = { line: (mark?.line ?? 0) + 1, column: (mark?.column ?? 0) + 1 };
    // js-yaml stops at the nesting limit: say so where it happened, and spare the `yaml` library.
    if (reason.startsWith('nesting exceeded maxDepth')) return { source, diagnostics: [tooDeep(file, at)] };
    const alias = unknownAlias(reason);
    const first = yamlDiagnostic(file, at, alias?.message ?? reason, alias?.hint);
    // It stopped at an earlier problem: nesting further down must not reach the `yaml` library.
    const deep = deepestPoint(text, YAML_LIBRARY_NESTING);
    if (deep !== undefined) return { source, diagnostics: [first, tooDeep(file, positionOf(text, deepestPoint(text, MAX_NESTING) ?? deep))] };
    const precise = syntaxDiagnostics(text, file);
    return { source, diagnostics: precise.length > 0 ? precise : [first] };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    diagnostics.push({
      code: 'schema.not-a-mapping',
      severity: 'error',
      path: '',
      message: 'the site file must be a YAML mapping with at least `version: 1` and `interfaces:`',
      hint: 'start from one of the files in examples/',
      file,
      line: 1,
      column: 1,
    });
    return { source, diagnostics };
  }

  // `__proto__` cannot be a key of a JavaScript object without changing what the object is: refuse
  // it as a name before anything looks it up (other Object.prototype names are plain names).
  for (const path of keysNamed(data, '__proto__')) {
    diagnostics.push({ code: 'schema.reserved-name', severity: 'error', path: formatPath(path), message: "'__proto__' cannot be used as a name", hint: 'choose another name', file, ...source.locate(path, true) });
  }
  if (diagnostics.length) return { source, diagnostics };

  const parsed = siteSchema.safeParse(data, { reportInput: true });
  if (parsed.success) return { site: parsed.data, source, diagnostics };

  for (const raw of parsed.error.issues) {
    for (const issue of flattenIssue(raw)) {
      const path = issue.path as PathSegment[];
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeysAt(siteSchema, path);
        for (const k of issue.keys) {
          const near = suggest(k, known);
          const at = source.locate([...path, k], true);
          diagnostics.push({
            code: 'schema.unknown-key',
            severity: 'error',
            path: formatPath([...path, k]),
            message: `unknown key '${k}'`,
            hint: near ? `did you mean '${near}'?` : known.length ? `allowed here: ${known.join(', ')}` : undefined,
            file,
            ...at,
          });
        }
        continue;
      }
      const { message, hint } = issueMessage(issue);
      diagnostics.push({
        code: (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined ? 'schema.missing' : 'schema.invalid',
        severity: 'error',
        path: formatPath(path),
        message,
        hint,
        file,
        ...source.locate(path),
      });
    }
  }
  return { source, diagnostics: sortDiagnostics(dedupe(diagnostics)), partial: salvage(data, parsed.error.issues) };
}

/**
 * Cuts what the schema refused out of a copy of the data (the offending value, or the entry that
 * holds a missing key) until the rest parses; a few rounds at most. Undefined when nothing useful
 * is left (the top-level shape itself is wrong).
 */
function salvage(data: unknown, first: readonly Issue[]): LoadResult['partial'] {
  const copy: unknown = structuredClone(data);
  let issues = first;
  const shifted: { path: string; from: number }[] = [];
  for (let round = 0; round < 4; round++) {
    const paths: PathSegment[][] = [];
    for (const raw of issues) {
      for (const issue of flattenIssue(raw)) {
        const path = issue.path as PathSegment[];
        // Inside a list, the whole entry goes (a rule without its action is no rule); elsewhere the
        // unknown key or the bad value, and for a missing value the entry that lacks it.
        const entry = path.reduce<number>((at, seg, i) => (typeof seg === 'number' ? i : at), -1);
        if (entry >= 0) paths.push(path.slice(0, entry + 1));
        else if (issue.code === 'unrecognized_keys') for (const k of issue.keys) paths.push([...path, k]);
        else paths.push(issue.input === undefined ? path.slice(0, -1) : path);
      }
    }
    // Later list entries first, so each cut leaves the indices of the others as they were.
    paths.sort((a, b) => comparePaths(b, a));
    for (const p of paths.filter((x, i) => i === 0 || comparePaths(x, paths[i - 1]) !== 0)) {
      const at = cut(copy, p);
      if (at !== undefined) shifted.push({ path: formatPath(p.slice(0, -1)), from: round === 0 ? at : 0 });
    }
    const again = siteSchema.safeParse(copy);
    if (again.success) return { site: again.data, shifted };
    issues = again.error.issues;
    if (issues.some((i) => i.path.length === 0)) return undefined;
  }
  return undefined;
}

function comparePaths(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    return typeof a[i] === 'number' && typeof b[i] === 'number' ? (a[i] as number) - (b[i] as number) : String(a[i]).localeCompare(String(b[i]));
  }
  return a.length - b.length;
}

/** Removes the value at `path`; returns the index when it was a list entry (the entries after it moved up). */
function cut(data: unknown, path: readonly PathSegment[]): number | undefined {
  if (path.length < 2) return undefined; // never a top-level key's holder itself
  let node = data as Record<string | number, unknown> | undefined;
  for (const seg of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[seg as string] as Record<string | number, unknown> | undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  const last = path[path.length - 1];
  if (Array.isArray(node) && typeof last === 'number') {
    if (last >= node.length) return undefined;
    node.splice(last, 1);
    return last;
  }
  delete node[last as string];
  return undefined;
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = `${d.code}|${d.path}|${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
