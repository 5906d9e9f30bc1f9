// Checks several features share: zone references, address matches, ports. Each reports through
// the feature's VerifyContext, so diagnostics keep their path and position.
import { closest, distance } from 'fastest-levenshtein';
import type { PathSegment } from '../config/diagnostics.js';
import type { Family } from '../lib/ip.js';
import { ANY, ROUTER, asList, familyOfMatch, type SetFamilies } from './resolve.js';

export interface Reporter {
  error(code: string, path: PathSegment[], message: string, hint?: string, key?: boolean): void;
}

export function suggestNames(word: string, all: string[]): string {
  const names = [...new Set(all)];
  if (names.length === 0) return 'none are declared';
  const near = closest(word, names);
  const close = distance(word, near) <= Math.max(2, Math.floor(word.length / 3));
  return `known: ${names.join(', ')}${close ? ` (did you mean '${near}'?)` : ''}`;
}

export function checkZoneRef(ref: string | string[], zones: string[], allowRouter: boolean, path: PathSegment[], c: Reporter) {
  const list = asList(ref);
  list.forEach((z, i) => {
    const p = Array.isArray(ref) ? [...path, i] : path;
    if (z === ANY && list.length === 1) return;
    if (z === ROUTER && allowRouter) return;
    if (z === ROUTER) {
      c.error('ref.router-not-allowed', p, `'router' is a destination only`, 'traffic the router sends itself is not filtered by kairo');
    } else if (!zones.includes(z)) {
      c.error('ref.unknown-zone', p, `unknown zone '${z}'`, suggestNames(z, zones));
    }
  });
}

export function checkAddrMatch(sets: SetFamilies, v: string | string[] | undefined, path: PathSegment[], c: Reporter): Set<Family> {
  const fams = new Set<Family>();
  asList(v).forEach((s, i) => {
    const p = Array.isArray(v) ? [...path, i] : path;
    if (s.startsWith('@')) {
      if (!sets || !Object.hasOwn(sets, s.slice(1))) {
        c.error('ref.unknown-set', p, `unknown set '${s.slice(1)}'`, suggestNames(s.slice(1), Object.keys(sets ?? {})));
        return;
      }
      if (Array.isArray(v) && v.length > 1) c.error('rule.set-in-list', p, 'a @set must stand alone, not in a list', 'put the other addresses into the set');
    }
    const f = familyOfMatch(sets, s);
    if (f === undefined && !s.startsWith('@')) c.error('address.invalid', p, `'${s}' is not an address or prefix`, scopeIdHint(s));
    if (f) fams.add(f);
  });
  return fams;
}

export function checkPorts(v: unknown, path: PathSegment[], c: Reporter) {
  asList(v as (string | number)[]).forEach((p, i) => {
    const m = /^(\d+)-(\d+)$/.exec(String(p));
    if (m && (Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535 || Number(m[1]) < 1)) {
      c.error('port.range-invalid', Array.isArray(v) ? [...path, i] : path, `'${p}' is not a port range from low to high within 1-65535`);
    } else if (!m && (Number(p) > 65535 || Number(p) < 1)) {
      c.error('port.range-invalid', Array.isArray(v) ? [...path, i] : path, `'${p}' is not a port in 1-65535`);
    }
  });
}

/** For an address written with a scope id (fe80::1%eth0): why it cannot be used. */
export function scopeIdHint(s: string): string | undefined {
  return s.includes('%') ? 'a scope id (%eth0) names an interface; firewall rules, sets and NAT take addresses only: match the interface with the zone instead' : undefined;
}

/** Dotted names: '.' and '..' the kernel refuses; eth0.10 is a VLAN, which kairo does not create. */
export function checkDeviceName(dev: string, path: PathSegment[], c: Pick<Reporter, 'error'>): void {
  if (dev === '.' || dev === '..') c.error('interface.device-invalid', path, `'${dev}' is not a name the kernel gives an interface`, 'use the name `ip link` shows');
  else if (dev.includes('.')) c.error('interface.vlan-unsupported', path, `${dev} is named like an 802.1q VLAN; kairo does not create VLAN devices yet, so networkd would wait for a device that never appears`, 'use the parent device, or a VLAN created outside kairo under a name without a dot');
}
