// Small resolvers shared by the checker and the model builder, so both read the site the same way.
import type { Site, InterfaceConfig } from '../config/schema.js';
import { parseCidr, parseAddress, type Cidr, type Family } from '../lib/ip.js';

export const ROUTER = 'router';
export const ANY = 'any';
export const DEFAULT_NODE = 'router';

export function nodeNames(site: Site): string[] {
  const names = Object.keys(site.nodes ?? {});
  return names.length > 0 ? names : [DEFAULT_NODE];
}

export function isPerNodeMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value for one node: the shared value, the node's own entry, or undefined when the map omits the node. */
export function pick<T>(v: T | Record<string, T> | undefined, node: string): T | undefined {
  if (v === undefined) return undefined;
  if (isPerNodeMap(v)) return (v as Record<string, T>)[node];
  return v as T;
}

export function asList<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Interfaces present on a node: a per-node `device` map that omits the node leaves the interface off it. */
export function interfacesOn(site: Site, node: string): [string, InterfaceConfig, string][] {
  const out: [string, InterfaceConfig, string][] = [];
  for (const [key, iface] of Object.entries(site.interfaces)) {
    const dev = pick(iface.device, node);
    if (dev !== undefined) out.push([key, iface, dev]);
  }
  return out;
}

export function zoneNames(site: Site): string[] {
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

/** Family of an address, prefix or `@set` written in a rule; undefined when it does not parse. */
export function familyOfMatch(site: Site, s: string): Family | undefined {
  if (s.startsWith('@')) {
    const set = site.sets?.[s.slice(1)];
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
