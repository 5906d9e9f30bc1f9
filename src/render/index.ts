// NodeModel → Artifact[]: the files one router needs, each feature's in registry order. Pure and
// deterministic (no clock, no I/O), so the same site always renders byte-identical files.
import type { NodeModel } from '../model/types.js';
import { FEATURES } from '../features/index.js';
import type { AnyFeature, RenderContext, Service } from '../features/feature.js';
import { header, type Artifact } from './artifact.js';

export { NFT_PATH, SYSCTL_PATH, KAIRO_TABLES } from './ruleset.js';

export function renderNode(m: NodeModel): Artifact[] {
  const ctx: RenderContext = { node: m, head: header('#', m.site, m.node), contributions: m.contributions };
  const out: Artifact[] = [];
  for (const f of FEATURES as readonly AnyFeature[]) {
    if (!m.features.has(f.id) || !f.render) continue;
    out.push(...f.render(m.features.get(f.id), ctx));
  }
  return out;
}

/**
 * The daemons the node's features run (units, how a change takes effect, enabled), in dependency
 * order: a unit comes after those it names in `after` (kairo-boot first), else in registry order.
 */
export function nodeServices(m: NodeModel): Service[] {
  const all = (FEATURES as readonly AnyFeature[]).flatMap((f) => (m.features.has(f.id) && f.services ? f.services(m.features.get(f.id), m) as Service[] : []));
  const byUnit = new Map(all.map((s) => [s.unit, s]));
  const depth = new Map<string, number>();
  const depthOf = (s: Service, seen: Set<string>): number => {
    if (depth.has(s.unit)) return depth.get(s.unit)!;
    if (seen.has(s.unit)) return 0; // a cycle: registry order decides
    seen.add(s.unit);
    const d = Math.max(0, ...(s.after ?? []).map((u) => (byUnit.has(u) ? depthOf(byUnit.get(u)!, seen) + 1 : 0)));
    depth.set(s.unit, d);
    return d;
  };
  return all.map((s, i) => ({ s, i, d: depthOf(s, new Set()) })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.s);
}
