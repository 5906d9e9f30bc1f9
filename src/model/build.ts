// Site (already verified) → one NodeModel per router node: each feature's model in registry order
// (a feature may use those before it), zones with the devices features add, and every feature's
// contributions merged for the renderers and the tracer. No text of any daemon's syntax here.
import type { Site } from '../config/schema.js';
import type { Secrets } from '../config/secrets.js';
import { FEATURES } from '../features/index.js';
import { interfaces } from '../features/interfaces/index.js';
import type { AnyFeature, Contributions, DeviceFacts, LinkContribution, ModelContext } from '../features/feature.js';
import { nodeNames, zoneNames } from './resolve.js';
import type { IfaceModel, NodeModel } from './types.js';

export function buildModels(site: Site, secrets: Secrets = new Map()): NodeModel[] {
  return nodeNames(site).map((n) => buildNodeModel(site, n, secrets));
}

function emptyContributions(): Contributions {
  return { firewall: { sets: [], input: [], fromZone: [], forwardAccept: [], clampMss: [], tables: [], nflog: [] }, routes: [], networkd: [], devices: [] };
}

/** zone → devices: each interface's device, followed by the devices features add next to it (a softwire). */
function fillZones(zones: Map<string, string[]>, site: Site, ifaces: IfaceModel[], links: LinkContribution[]) {
  zones.clear();
  for (const z of zoneNames(site)) zones.set(z, []);
  for (const i of ifaces) {
    zones.get(i.zone)!.push(i.device);
    for (const l of links.filter((x) => x.parent === i.device)) zones.get(i.zone)!.push(l.device);
  }
}

export function buildNodeModel(site: Site, node: string, secrets: Secrets = new Map()): NodeModel {
  const m: NodeModel = { site: site.name ?? 'site', node, interfaces: [], zones: new Map(), features: new Map(), contributions: emptyContributions() };
  const facts: DeviceFacts[] = [];
  const links: LinkContribution[] = [];
  const ctx: ModelContext = {
    site: site as ModelContext['site'],
    node,
    get interfaces() {
      return m.interfaces;
    },
    zones: m.zones,
    secrets,
    device: (name) => Object.assign({ device: name }, ...facts.filter((d) => d.device === name)),
    modelOf: (f) => m.features.get(f.id) as never,
    sliceOf: () => site as never,
  };
  const used: [AnyFeature, unknown][] = [];
  for (const f of FEATURES as readonly AnyFeature[]) {
    const fm = f.model?.(ctx);
    if (fm === undefined) continue;
    m.features.set(f.id, fm);
    used.push([f, fm]);
    if (f === (interfaces as AnyFeature)) m.interfaces = fm as IfaceModel[];
    facts.push(...(f.devices?.(fm) ?? []));
    links.push(...(f.links?.(fm) ?? []));
    fillZones(m.zones, site, m.interfaces, links);
  }
  const c = m.contributions;
  c.devices = facts;
  for (const [f, fm] of used) {
    const fw = f.firewall?.(fm, m);
    if (fw) for (const k of Object.keys(c.firewall) as (keyof Contributions['firewall'])[]) (c.firewall[k] as unknown[]).push(...(fw[k] ?? []));
    c.routes.push(...(f.routes?.(fm, m) ?? []));
    c.networkd.push(...(f.networkd?.(fm, m) ?? []));
  }
  return m;
}

/** A feature's model on a node (undefined when the node does not use it). */
export function featureModel<M>(m: NodeModel, f: { id: string; model?: (...a: never[]) => M | undefined }): M | undefined {
  return m.features.get(f.id) as M | undefined;
}
