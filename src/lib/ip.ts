// Address math goes through ipaddr.js; this file only adapts it to the shapes kairo uses.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  readonly family: Family;
  readonly addr: Addr;
  readonly prefix: number;
  /** As written, normalised: `10.0.0.1/24`. */
  readonly text: string;
  /** The network: `10.0.0.0/24`. */
  readonly network: string;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const V4_PREFIX = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\/(3[0-2]|[12]?\d))?$/;

/**
 * Family of an address or prefix without building objects: a 100 000-entry blocklist is checked
 * in a few milliseconds. Undefined when it is neither.
 */
export function familyOfPrefix(s: string): Family | undefined {
  if (V4_PREFIX.test(s)) return 4;
  return s.includes(':') ? parseCidr(s, true)?.family : undefined;
}

export function parseAddress(s: string): { family: Family; addr: Addr } | undefined {
  // Dotted quads are by far the most common input (100 000-entry blocklists): parse them directly,
  // ipaddr.js's general parser costs about 10 µs an address.
  const m = V4.exec(s);
  if (m) {
    const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (octets.some((o) => o > 255) || [m[1], m[2], m[3], m[4]].some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
    return { family: 4, addr: new ipaddr.IPv4(octets) };
  }
  // A scope id (fe80::1%eth0) names an interface, which nft rules, sets and NAT cannot carry.
  if (!s.includes(':') || s.includes('%')) return undefined;
  if (!ipaddr.IPv6.isValid(s)) return undefined;
  return { family: 6, addr: ipaddr.IPv6.parse(s) };
}

/** Parses `addr/len`; a bare address is taken as a host prefix (/32 or /128) when `allowBare`. */
export function parseCidr(s: string, allowBare = false): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!allowBare) return undefined;
    const a = parseAddress(s);
    return a && makeCidr(a.family, a.addr, a.family === 4 ? 32 : 128);
  }
  const a = parseAddress(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!a || !/^\d{1,3}$/.test(lenText)) return undefined;
  return makeCidr(a.family, a.addr, Number(lenText));
}

/** text and network are computed on first use: most parsed prefixes (set elements) never need them. */
class ParsedCidr implements Cidr {
  private _text?: string;
  private _network?: string;
  constructor(
    readonly family: Family,
    readonly addr: Addr,
    readonly prefix: number,
  ) {}
  get text(): string {
    return (this._text ??= `${this.addr.toString()}/${this.prefix}`);
  }
  get network(): string {
    if (this._network === undefined) {
      const net = this.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(this.text) : ipaddr.IPv6.networkAddressFromCIDR(this.text);
      this._network = `${net.toString()}/${this.prefix}`;
    }
    return this._network;
  }
}

function makeCidr(family: Family, addr: Addr, prefix: number): Cidr | undefined {
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return new ParsedCidr(family, addr, prefix);
}

export function contains(net: Cidr, addr: Addr): boolean {
  if (addr.kind() !== net.addr.kind()) return false;
  return (addr as ipaddr.IPv4).match([net.addr as ipaddr.IPv4, net.prefix]);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.prefix <= b.prefix ? contains(a, b.addr) : contains(b, a.addr);
}

export function isLinkLocal(addr: Addr): boolean {
  return addr.range() === 'linkLocal';
}

export function isHostPrefix(c: Cidr): boolean {
  return c.prefix === (c.family === 4 ? 32 : 128);
}

export interface Endpoint {
  family: Family;
  addr: Addr;
  port?: number;
  portEnd?: number;
}

function isDigits(x: string): boolean {
  if (x.length === 0 || x.length > 5) return false;
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function parsePortText(t: string): { port: number; portEnd?: number } | undefined {
  const dash = t.indexOf('-');
  const lo = dash < 0 ? t : t.slice(0, dash);
  const hi = dash < 0 ? undefined : t.slice(dash + 1);
  if (!isDigits(lo) || (hi !== undefined && !isDigits(hi))) return undefined;
  const port = Number(lo);
  const portEnd = hi === undefined ? undefined : Number(hi);
  if (port < 1 || port > 65535 || (portEnd !== undefined && (portEnd < port || portEnd > 65535))) return undefined;
  return { port, portEnd };
}

/**
 * `10.0.1.1:80`, `10.0.1.1`, `[fd00::3]:80`, `fd00::3`, `10.0.0.5:6000-6010`.
 * Written with indexOf rather than regular expressions: 10 000 forwards are parsed twice per run.
 */
export function parseEndpoint(s: string): Endpoint | undefined {
  let host = s;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0 && colon === s.lastIndexOf(':')) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    }
  }
  if (host.includes('%')) return undefined;
  const a = parseAddress(host);
  if (!a) return undefined;
  if (portText === undefined) return { family: a.family, addr: a.addr };
  const p = parsePortText(portText);
  return p && { family: a.family, addr: a.addr, port: p.port, portEnd: p.portEnd };
}

/** True when the text names a scoped address (`fe80::1%eth0`), which nft cannot carry. */
export function hasScopeId(s: string): boolean {
  return /%[^\]]+/.test(s);
}

export function addrText(a: Addr): string {
  return a.toString();
}

/** The Nth address (0-based) of a prefix: `nthAddress('10.0.0.0/24', 1)` → 10.0.0.1. */
export function nthAddress(net: Cidr, n: number): Addr {
  const bytes = ipaddr.parse(net.network.split('/')[0]).toByteArray();
  let carry = n;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const v = bytes[i] + carry;
    bytes[i] = v & 0xff;
    carry = Math.floor(v / 256);
  }
  return ipaddr.fromByteArray(bytes);
}

export function prefixSize(c: Cidr): number {
  const bits = (c.family === 4 ? 32 : 128) - c.prefix;
  return bits > 52 ? Number.MAX_SAFE_INTEGER : 2 ** bits;
}

/** Orders two addresses of one family (negative, zero, positive), as the numbers they encode. */
export function compareAddr(a: Addr, b: Addr): number {
  const x = a.toByteArray();
  const y = b.toByteArray();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
