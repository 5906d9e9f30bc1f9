// Address math goes through ipaddr.js; this file only adapts it to the shapes kairo uses.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  family: Family;
  addr: Addr;
  prefix: number;
  /** As written, normalised: `10.0.0.1/24`. */
  text: string;
  /** The network: `10.0.0.0/24`. */
  network: string;
}

export function parseAddress(s: string): { family: Family; addr: Addr } | undefined {
  if (!ipaddr.isValid(s) || (s.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(s) && !s.includes(':'))) return undefined;
  const addr = ipaddr.parse(s);
  return { family: addr.kind() === 'ipv4' ? 4 : 6, addr };
}

/** Parses `addr/len`; a bare address is taken as a host prefix (/32 or /128) when `allowBare`. */
export function parseCidr(s: string, allowBare = false): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!allowBare) return undefined;
    const a = parseAddress(s);
    if (!a) return undefined;
    return parseCidr(`${s}/${a.family === 4 ? 32 : 128}`);
  }
  const a = parseAddress(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!a || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > (a.family === 4 ? 32 : 128)) return undefined;
  const net = a.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${a.addr}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${a.addr}/${prefix}`);
  return { family: a.family, addr: a.addr, prefix, text: `${a.addr.toString()}/${prefix}`, network: `${net.toString()}/${prefix}` };
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

/** `10.0.1.1:80`, `10.0.1.1`, `[fd00::3]:80`, `fd00::3`, `10.0.0.5:6000-6010`. */
export function parseEndpoint(s: string): Endpoint | undefined {
  let host = s;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if ((s.match(/:/g) ?? []).length === 1) {
    [host, portText] = s.split(':');
  }
  const a = parseAddress(host.replace(/%.*$/, ''));
  if (!a || host.includes('%')) return undefined;
  if (portText === undefined) return { ...a };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(portText);
  if (!m) return undefined;
  const port = Number(m[1]);
  const portEnd = m[2] ? Number(m[2]) : undefined;
  if (port < 1 || port > 65535 || (portEnd !== undefined && (portEnd < port || portEnd > 65535))) return undefined;
  return { ...a, port, portEnd };
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
