// Address ranges as numbers (BigInt, so IPv6 works the same way): parsing pools, splitting one
// range between the nodes of a pair, the default pool, and stable subnet ids. Pure.
import ipaddr from 'ipaddr.js';
import { parseAddress, parseCidr, type Cidr, type Family } from '../../lib/ip.js';

export interface Range {
  family: Family;
  lo: bigint;
  hi: bigint;
}

export function toBig(a: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let n = 0n;
  for (const b of a.toByteArray()) n = (n << 8n) | BigInt(b);
  return n;
}

export function fromBig(n: bigint, family: Family): string {
  const len = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = 0; i < len; i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** The first and last address of a prefix. */
export function bounds(c: Cidr): Range {
  const bits = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  const lo = (toBig(c.addr) >> bits) << bits;
  return { family: c.family, lo, hi: lo + (1n << bits) - 1n };
}

export function rangeText(r: Range): string {
  return r.lo === r.hi ? fromBig(r.lo, r.family) : `${fromBig(r.lo, r.family)} - ${fromBig(r.hi, r.family)}`;
}

export function addrBig(s: string): { family: Family; n: bigint } | undefined {
  const a = parseAddress(s);
  return a && { family: a.family, n: toBig(a.addr) };
}

/** `FIRST-LAST` or a prefix; a message when it is neither. */
export function parsePool(text: string): Range | string {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const c = parseCidr(text.trim());
    return c ? bounds(c) : `'${text}' is neither a range FIRST-LAST nor a prefix`;
  }
  const lo = addrBig(text.slice(0, dash).trim());
  const hi = addrBig(text.slice(dash + 1).trim());
  if (!lo || !hi) return `'${text}' is not a range of two addresses FIRST-LAST`;
  if (lo.family !== hi.family) return `'${text}' mixes IPv4 and IPv6`;
  if (lo.n > hi.n) return `'${text}' ends before it starts`;
  return { family: lo.family, lo: lo.n, hi: hi.n };
}

export const overlapsRange = (a: Range, b: Range) => a.family === b.family && a.lo <= b.hi && b.lo <= a.hi;
export const insideRange = (outer: Range, inner: Range) => outer.family === inner.family && outer.lo <= inner.lo && inner.hi <= outer.hi;

/**
 * One range split into `parts` contiguous, disjoint pieces of (almost) equal size, as the IPoE
 * pair's owner did by hand (.20-.99 on one router, .100-.189 on the other). Part k of each range
 * goes to the k-th node, so the split is stable while the node list stays the same.
 */
export function splitRange(r: Range, parts: number): Range[] {
  const size = r.hi - r.lo + 1n;
  const n = BigInt(parts);
  const out: Range[] = [];
  for (let k = 0n; k < n; k++) {
    const lo = r.lo + (size * k) / n;
    const hi = r.lo + (size * (k + 1n)) / n - 1n;
    if (hi >= lo) out.push({ family: r.family, lo, hi });
  }
  return out;
}

/** A range with some addresses taken out (router addresses inside a default pool). */
export function without(r: Range, taken: bigint[]): Range[] {
  const out: Range[] = [];
  let lo = r.lo;
  for (const t of [...new Set(taken)].filter((x) => x >= r.lo && x <= r.hi).sort((a, b) => (a < b ? -1 : 1))) {
    if (t > lo) out.push({ family: r.family, lo, hi: t - 1n });
    lo = t + 1n;
  }
  if (lo <= r.hi) out.push({ family: r.family, lo, hi: r.hi });
  return out;
}

/**
 * The default IPv4 pool: the upper half of the subnet without its broadcast address (a /24 gives
 * .128-.254), leaving the lower half for fixed addresses, as home routers do.
 */
export function defaultPool4(subnet: Cidr): Range | undefined {
  const b = bounds(subnet);
  const size = b.hi - b.lo + 1n;
  if (size < 4n) return undefined;
  return { family: 4, lo: b.lo + size / 2n, hi: b.hi - 1n };
}

/**
 * Kea's subnet id, derived from the subnet itself so that it never changes when something else in
 * the file does, and is the same on both nodes of a pair: the IPv4 network address as a number
 * (10.0.0.0/24 → 167772160, readable in Kea's logs); for IPv6 a 32-bit FNV-1a hash of the prefix.
 */
export function derivedSubnetId(subnet: Cidr): number {
  if (subnet.family === 4) {
    const n = Number(bounds(subnet).lo);
    return n === 0 ? 1 : Math.min(n, 2 ** 32 - 2);
  }
  let h = 0x811c9dc5;
  for (const ch of subnet.network) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % (2 ** 32 - 2)) + 1;
}
