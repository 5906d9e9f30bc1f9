// Lab checks in the user's terms: `from: lan, to: internet:443/tcp, expect: allow, seen-as: wan`.
// Parsing is pure and shared by the checker (diagnostics) and the lab (running them).
import { parseAddress, type Family } from '../../lib/ip.js';
import type { LabCheckConfig } from './index.js';

export type ProbeProto = 'tcp' | 'udp' | 'icmp' | 'dns' | 'dhcp';

export interface LabCheck {
  index: number;
  name: string;
  from: string;
  toHost: string;
  port?: number;
  proto: ProbeProto;
  family: Family;
  expect: { kind: 'allow' } | { kind: 'blocked' } | { kind: 'reaches'; host: string; port?: number } | { kind: 'lease'; address?: string } | { kind: 'answer'; value: string } | { kind: 'nxdomain' };
  /** DNS: the name asked (an address: its reverse name). */
  query?: string;
  seenAs?: string;
  /** DHCP: the client's hardware address (a reservation's), else one the lab makes up. */
  mac?: string;
  needs?: LabCheckConfig['needs'];
}

/** `internet:443/tcp`, `[2001:db8::10]:80/tcp`, `wan:8001/tcp`, `internet/icmp`, `internet/dns`, `router/dhcp`. */
export function parseTarget(s: string): { host: string; port?: number; proto: ProbeProto } | string {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return "missing '/PROTO' (tcp, udp, icmp or dns)";
  const proto = s.slice(slash + 1);
  if (!['tcp', 'udp', 'icmp', 'dns', 'dhcp'].includes(proto)) return `unknown protocol '${proto}' (tcp, udp, icmp, dns or dhcp)`;
  const hp = s.slice(0, slash);
  let host = hp;
  let portText: string | undefined;
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0) return "unclosed '['";
    host = hp.slice(1, close);
    if (hp.length > close + 1) {
      if (hp[close + 1] !== ':') return "expected ':' after ']'";
      portText = hp.slice(close + 2);
    }
  } else if ((hp.match(/:/g) ?? []).length === 1) {
    [host, portText] = hp.split(':');
  }
  if (proto === 'tcp' || proto === 'udp') {
    if (portText === undefined) return `${proto} needs a port: HOST:PORT/${proto}`;
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return `'${portText}' is not a port`;
    return { host, port, proto };
  }
  if (portText !== undefined) return `${proto} takes no port`;
  return { host, proto: proto as ProbeProto };
}

function parseExpect(s: string): LabCheck['expect'] | string {
  if (s === 'allow') return { kind: 'allow' };
  if (s === 'blocked') return { kind: 'blocked' };
  const lease = /^lease(?:\s+(\S+))?$/.exec(s);
  if (lease) {
    if (lease[1] && !parseAddress(lease[1])) return `'${lease[1]}' is not an address`;
    return { kind: 'lease', address: lease[1] };
  }
  if (s === 'nxdomain') return { kind: 'nxdomain' };
  const answer = /^answer\s+(\S+)$/.exec(s);
  if (answer) return { kind: 'answer', value: parseAddress(answer[1]) ? parseAddress(answer[1])!.addr.toString() : answer[1].toLowerCase().replace(/\.$/, '') };
  const m = /^reaches\s+(.+)$/.exec(s);
  if (!m) return "expect is 'allow', 'blocked', 'reaches ADDRESS:PORT', for DNS 'answer ADDRESS|NAME' or 'nxdomain'";
  const t = m[1];
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const [host, port] = v6 ? [v6[1], v6[2]] : t.split(':');
  if (!parseAddress(host)) return `'${host}' is not an address`;
  return { kind: 'reaches', host, port: port ? Number(port) : undefined };
}

/** Parses every check; problems come back as [index, field, message] for the checker. */
export function parseChecks(site: { interfaces: Record<string, unknown>; lab?: { checks?: LabCheckConfig[] } }): { checks: LabCheck[]; problems: [number, string, string][] } {
  const checks: LabCheck[] = [];
  const problems: [number, string, string][] = [];
  const ifaces = Object.keys(site.interfaces);
  (site.lab?.checks ?? []).forEach((c, i) => {
    const to = parseTarget(c.to);
    const expect = parseExpect(c.expect);
    if (typeof to === 'string') problems.push([i, 'to', to]);
    if (typeof expect === 'string') problems.push([i, 'expect', expect]);
    if (c.from !== 'internet' && !ifaces.includes(c.from) && !parseAddress(c.from)) {
      problems.push([i, 'from', `'${c.from}' is not 'internet', an interface (${ifaces.join(', ')}) or an address`]);
    }
    if (typeof to === 'string' || typeof expect === 'string') return;
    const literal = parseAddress(to.host);
    const family: Family = literal?.family ?? (c.family === 'ipv6' ? 6 : 4);
    if (to.host !== 'internet' && to.host !== 'router' && !ifaces.includes(to.host) && !literal) {
      problems.push([i, 'to', `'${to.host}' is not internet, router, an interface or an address`]);
      return;
    }
    if (to.proto === 'icmp' && expect.kind === 'reaches') problems.push([i, 'expect', "icmp checks are 'allow' or 'blocked'"]);
    if ((to.proto === 'dhcp') !== (expect.kind === 'lease')) problems.push([i, 'expect', to.proto === 'dhcp' ? "a DHCP check expects 'lease' or 'lease ADDRESS'" : "'lease' is what a DHCP check (to: router/dhcp) expects"]);
    if (to.proto === 'dhcp' && (to.host !== 'router' || !ifaces.includes(c.from))) problems.push([i, to.host !== 'router' ? 'to' : 'from', 'a DHCP check asks the router from a client on a link: { from: lan, to: router/dhcp, expect: lease }']);
    if ((expect.kind === 'answer' || expect.kind === 'nxdomain') && to.proto !== 'dns') problems.push([i, 'expect', `'${c.expect}' is what a DNS check (to: HOST/dns) expects`]);
    if (c.query !== undefined && to.proto !== 'dns') problems.push([i, 'query', 'query is for DNS checks (to: HOST/dns)']);
    else if (c.query !== undefined && !parseAddress(c.query) && !/^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i.test(c.query)) problems.push([i, 'query', `'${c.query}' is neither a domain name nor an address`]);
    if (c.mac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(c.mac)) problems.push([i, 'mac', `'${c.mac}' is not a hardware address (52:54:00:12:34:56)`]);
    checks.push({
      index: i,
      name: c.name ?? `${c.from} → ${c.to}`,
      from: c.from,
      toHost: to.host,
      port: to.port,
      proto: to.proto,
      family,
      expect,
      seenAs: c['seen-as'],
      needs: c.needs,
      mac: c.mac?.toLowerCase(),
      ...(c.query !== undefined ? { query: c.query } : {}),
    });
  });
  return { checks, problems };
}
