// Small resolvers shared by the checks and the models, so every feature reads the site the same way.
import type { CoreInterface } from '../config/schema-core.js';
import { parseCidr, parseAddress, type Cidr, type Family } from '../lib/ip.js';
import type { SiteBase } from './types.js';

export const ROUTER = 'router';
export const ANY = 'any';
export const DEFAULT_NODE = 'router';

export function nodeNames(site: Pick<SiteBase, 'nodes'>): string[] {
  const names = Object.keys(site.nodes ?? {});
  return names.length > 0 ? names : [DEFAULT_NODE];
}

export function isPerNodeMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value for one node: the shared value, the node's own entry, or undefined when the map omits the node. */
export function pick<T>(v: T | Record<string, T> | undefined, node: string): T | undefined {
  if (v === undefined) return undefined;
  if (isPerNodeMap(v)) return Object.hasOwn(v, node) ? (v as Record<string, T>)[node] : undefined;
  return v as T;
}

export function asList<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Interfaces present on a node: a per-node `device` map that omits the node leaves the interface off it. */
export function interfacesOn<I extends CoreInterface>(site: { interfaces: Record<string, I> }, node: string): [string, I, string][] {
  const out: [string, I, string][] = [];
  for (const [key, iface] of Object.entries(site.interfaces)) {
    const dev = pick(iface.device, node);
    if (dev !== undefined) out.push([key, iface, dev]);
  }
  return out;
}

/** Zone names: the declared ones first, then those interfaces name. */
export function zoneNames(site: { interfaces: Record<string, CoreInterface>; zones?: Record<string, unknown> }): string[] {
  const names = new Set<string>(Object.keys(site.zones ?? {}));
  for (const iface of Object.values(site.interfaces)) names.add(iface.zone);
  return [...names];
}

/** Static addresses of an interface on a node, parsed; the mode string when dynamic. */
export function staticAddresses(v: unknown): string[] {
  if (typeof v === 'string') return v === 'dhcp' || v === 'slaac' ? [] : [v];
  return Array.isArray(v) ? (v as string[]) : [];
}

export function parsedStatic(v: unknown): Cidr[] {
  return staticAddresses(v)
    .map((s) => parseCidr(s))
    .filter((c): c is Cidr => c !== undefined);
}

/** Named address sets as rules and NAT refer to them (`@name`). */
export type SetFamilies = Record<string, { family: 'ipv4' | 'ipv6'; elements?: string[] }> | undefined;

/** Family of an address, prefix or `@set` written in a rule; undefined when it does not parse. */
export function familyOfMatch(sets: SetFamilies, s: string): Family | undefined {
  if (s.startsWith('@')) {
    const name = s.slice(1);
    const set = sets && Object.hasOwn(sets, name) ? sets[name] : undefined;
    return set ? (set.family === 'ipv4' ? 4 : 6) : undefined;
  }
  const c = parseCidr(s, true);
  if (c) return c.family;
  const a = parseAddress(s);
  return a?.family;
}

export function familyName(f: Family): 'ipv4' | 'ipv6' {
  return f === 4 ? 'ipv4' : 'ipv6';
}
