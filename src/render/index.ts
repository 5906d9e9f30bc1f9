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

/** The daemons the node's features run (units, how a change takes effect, enabled). */
export function nodeServices(m: NodeModel): Service[] {
  return (FEATURES as readonly AnyFeature[]).flatMap((f) => (m.features.has(f.id) && f.services ? f.services(m.features.get(f.id), m) : []));
}
