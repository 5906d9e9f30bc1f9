// load → verify → model → render in one pure call. Callers (CLI, lab, apply, bench) read files and
// pass text in; nothing here touches the system.
import { loadSite, type SourceMap } from './config/load.js';
import { hasErrors, sortDiagnostics, tidyDiagnostic, type Diagnostic } from './config/diagnostics.js';
import type { Site } from './config/schema.js';
import { includeSetFiles, type FileReader } from './config/include.js';
import { resolveSiteSecrets } from './config/secrets.js';
import { verifySite } from './model/verify.js';
import { buildModels } from './model/build.js';
import type { NodeModel } from './model/types.js';
import { nodeServices, renderNode } from './render/index.js';
import type { AnyFeature, Service } from './features/feature.js';
import { FEATURES } from './features/index.js';
import { forwardFlows, type ForwardFlows } from './features/nat/flows.js';
import { featureModel } from './model/build.js';
import { nat } from './features/nat/index.js';
import type { Artifact } from './render/artifact.js';

export interface NodeOutput {
  node: string;
  model: NodeModel;
  artifacts: Artifact[];
  /** The systemd units the artifacts install, in the order they are acted on. */
  services: Service[];
  /** Port forwards by identity: apply ends the connections of those a new generation drops. */
  forwards: ForwardFlows[];
}

export interface CompileResult {
  ok: boolean;
  site?: Site;
  source: SourceMap;
  diagnostics: Diagnostic[];
  nodes: NodeOutput[];
}

export interface CompileOptions {
  /** Reads files the site refers to (set lists, secret files), relative to the site file. */
  readFile?: FileReader;
  /** Environment variables, for secrets given as { env: NAME }. */
  env?: (name: string) => string | undefined;
}

export function compileSite(text: string, file = 'site.yaml', opts: CompileOptions = {}): CompileResult {
  const r = compile(text, file, opts);
  // Every message passes here on its way to a terminal or an editor: values cut, controls escaped.
  return { ...r, diagnostics: r.diagnostics.map(tidyDiagnostic) };
}

function compile(text: string, file: string, opts: CompileOptions): CompileResult {
  const loaded = loadSite(text, file);
  if (!loaded.site) {
    // What the schema refused is reported; the rest of the file is still checked, so one run shows
    // every kind of problem. Findings that may stem from the cut parts are left out: references
    // (to a cut entry) and anything in a list an entry was cut from (its paths moved).
    const p = loaded.partial;
    const moved = (path: string) => p!.shifted.some((s) => {
      const m = path.startsWith(`${s.path}[`) ? /^\[(\d+)\]/.exec(path.slice(s.path.length)) : null;
      return m !== null && Number(m[1]) >= s.from;
    });
    const more = p ? verifySite(p.site, loaded.source).filter((d) => !d.code.startsWith('ref.') && !moved(d.path)) : [];
    return { ok: false, source: loaded.source, diagnostics: sortDiagnostics([...loaded.diagnostics, ...more]), nodes: [] };
  }
  const included = includeSetFiles(loaded.site, loaded.source, opts.readFile);
  for (const f of FEATURES as readonly AnyFeature[]) included.push(...(f.readFiles?.(loaded.site as never, loaded.source, opts.readFile) ?? []));
  const { secrets, diagnostics: secretDiags } = resolveSiteSecrets(loaded.site, loaded.source, {
    readFile: (p) => opts.readFile?.(p),
    env: (n) => opts.env?.(n),
  });
  const diagnostics = sortDiagnostics([...loaded.diagnostics, ...included, ...secretDiags, ...verifySite(loaded.site, loaded.source)]);
  if (hasErrors(diagnostics)) return { ok: false, site: loaded.site, source: loaded.source, diagnostics, nodes: [] };
  const nodes = buildModels(loaded.site, secrets).map((model) => ({ node: model.node, model, artifacts: renderNode(model), services: nodeServices(model), forwards: forwardFlows(featureModel(model, nat)?.forwards ?? []) }));
  const clashes = pathClashes(nodes, file);
  if (clashes.length) return { ok: false, site: loaded.site, source: loaded.source, diagnostics: sortDiagnostics([...diagnostics, ...clashes]), nodes: [] };
  return { ok: true, site: loaded.site, source: loaded.source, diagnostics, nodes };
}

/** Two parts of the site writing one file: the later would silently replace the earlier. */
export function pathClashes(nodes: NodeOutput[], file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const n of nodes) {
    const owner = new Map<string, string>();
    for (const a of n.artifacts) {
      const prior = owner.get(a.path);
      if (prior === undefined) owner.set(a.path, a.owner);
      else out.push({ code: 'render.path-clash', severity: 'error', path: '', message: `${a.path} is written twice on node ${n.node} (by ${prior} and by ${a.owner})`, hint: 'two interfaces, tunnels or hosts share a name; rename one of them', file, line: 1, column: 1 });
    }
  }
  return out;
}
