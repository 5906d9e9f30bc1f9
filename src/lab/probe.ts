// Runs lab checks against live traffic and says what was observed: which namespace answered, on
// which address, and which source address it saw (after NAT).
import { run } from '../lib/exec.js';
import { contains, parseAddress, parseCidr, type Family } from '../lib/ip.js';
import type { LabCheck } from '../features/lab/checks.js';
import type { LabHost, LabPlan } from './plan.js';
import { AGENT } from './run.js';
import type { KernelFeatures } from './features.js';
import { sourceFor, watch, type Witness } from './witness.js';
import { labMac, requestLease, requestLease6 } from './dhcp-probe.js';
import { stateDir } from './run.js';
import { toBig } from '../features/dhcp/pools.js';
import { join } from 'node:path';

export interface CheckResult {
  check: LabCheck;
  status: 'pass' | 'fail' | 'skip';
  expected: string;
  observed: string;
}

interface Observation {
  outcome: 'answer' | 'timeout' | 'refused' | 'unreachable' | 'error';
  server?: string;
  local?: string;
  peer?: string;
  error?: string;
  addresses?: string[];
  /** DNS: the status of an answer without records (nxdomain, refused, servfail, nodata). */
  rcode?: string;
}

/** The router's live addresses on a device: DHCP and SLAAC addresses are only known once up. */
export function liveAddress(ns: string, dev: string, family: Family): string | undefined {
  const r = run('ip', ['-n', ns, '-j', `-${family}`, 'addr', 'show', 'dev', dev]);
  if (r.code !== 0) return undefined;
  const info = (JSON.parse(r.stdout || '[]') as { addr_info: { local: string; scope: string }[] }[])[0];
  return info?.addr_info.find((a) => a.scope === 'global')?.local;
}

function hostOf(plan: LabPlan, from: string, family: Family): { ns: string; bind?: string; segment: string } | string {
  if (from === 'internet') {
    if (!plan.isp) return 'the site has no uplink, so the lab has no internet';
    return { ns: plan.isp.ns, bind: family === 4 ? plan.isp.internet4 : plan.isp.internet6, segment: plan.isp.segment };
  }
  const byAddr = plan.hosts.find((h) => h.owns.includes(from));
  if (byAddr) return { ns: byAddr.ns, bind: from, segment: byAddr.link.segment };
  const client = plan.hosts.find((h) => h.role === 'client' && h.link.segment === from) ?? plan.hosts.find((h) => h.link.segment === from && h.role !== 'isp');
  if (client) return { ns: client.ns, segment: client.link.segment };
  if (plan.isp && plan.isp.segment === from) return { ns: plan.isp.ns, segment: from };
  return `the lab has no host on '${from}' (a link needs a static prefix for a client)`;
}

/** The router's address on an interface key (first node), from live state. */
function routerAddress(plan: LabPlan, segment: string, family: Family): string | undefined {
  const r = plan.routers[0];
  const link = r.links.find((l) => l.segment === segment);
  if (!link) return undefined;
  // A bridge's address lives on the bridge, not on its ports.
  const nd = r.artifacts.find((a) => a.path.endsWith('.network') && a.content.includes(`Bridge=`) && a.content.includes(`Name=${link.dev}`));
  const dev = nd ? /Bridge=(\S+)/.exec(nd.content)![1] : link.dev;
  return liveAddress(r.ns, dev, family);
}

export function resolveHost(plan: LabPlan, name: string, family: Family, fromSegment?: string): string | undefined {
  if (parseAddress(name)) return name;
  if (name === 'internet') return plan.isp ? (family === 4 ? plan.isp.internet4 : plan.isp.internet6) : undefined;
  if (name === 'router') return fromSegment ? routerAddress(plan, fromSegment, family) : undefined;
  return routerAddress(plan, name, family);
}

function probe(ns: string, proto: 'tcp' | 'udp', host: string, port: number, bind?: string): Observation {
  const args = [AGENT, 'probe', proto, host, String(port), '1200', ...(bind ? [bind] : [])];
  const r = run(process.execPath, args, { netns: ns, timeoutMs: 5000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { outcome: 'error', error: r.stderr.trim() || 'no output' };
  }
}

function owner(plan: LabPlan, server?: string): LabHost | undefined {
  return plan.hosts.find((h) => h.ns === server);
}

function describe(o: Observation): string {
  if (o.outcome === 'answer' && o.rcode) return o.rcode;
  if (o.outcome === 'answer') return o.addresses ? `answer ${o.addresses.join(', ')}` : `answer from ${o.server} on ${o.local}, saw ${o.peer?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')}`;
  if (o.outcome === 'timeout') return 'no answer (timeout)';
  return `${o.outcome}${o.error ? ` (${o.error})` : ''}`;
}

function peerAddress(o: Observation): string | undefined {
  return o.peer?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

export function runCheck(plan: LabPlan, c: LabCheck, features: KernelFeatures): CheckResult {
  const e = c.expect;
  const expected = e.kind === 'reaches' ? `reaches ${e.host}${e.port ? `:${e.port}` : ''}` : e.kind === 'lease' ? `lease${e.address ? ` ${e.address}` : ''}` : e.kind === 'answer' ? `answer ${e.value}` : e.kind;
  const exp = `${expected}${c.seenAs ? `, seen as ${c.seenAs}` : ''}`;
  if (c.needs && !features[c.needs].ok) return { check: c, status: 'skip', expected: exp, observed: `skipped: ${features[c.needs].reason}` };
  const from = hostOf(plan, c.from, c.family);
  if (typeof from === 'string') return { check: c, status: 'fail', expected: exp, observed: from };
  if (e.kind === 'lease') return leaseCheck(plan, c, e, from.ns, exp);
  const dst = resolveHost(plan, c.toHost, c.family, from.segment);
  if (!dst) return { check: c, status: 'fail', expected: exp, observed: `cannot resolve '${c.toHost}' (IPv${c.family}) in the lab` };

  let o: Observation;
  // A blocked check needs to see the probe dropped at a router, not just unanswered.
  const witness = e.kind === 'blocked'
    ? watch(plan.routers.map((r) => r.ns), { family: c.family, src: sourceFor(from.ns, dst, from.bind), dst, proto: c.proto === 'dns' || c.proto === 'dhcp' ? 'udp' : c.proto, port: c.proto === 'dns' ? 53 : c.port })
    : undefined;
  if (c.proto === 'icmp') {
    const r = run('ping', ['-c', '1', '-W', '1', ...(from.bind ? ['-I', from.bind] : []), dst], { netns: from.ns, timeoutMs: 4000 });
    o = { outcome: r.code === 0 ? 'answer' : 'timeout', server: 'icmp' };
    const answered = r.code === 0;
    if (witness) return blockedResult(c, exp, `${dst}: ${answered ? 'echo reply' : 'no echo reply'}`, answered, witness());
    return { check: c, status: answered ? 'pass' : 'fail', expected: exp, observed: `${dst}: ${answered ? 'echo reply' : 'no echo reply'}` };
  }
  if (c.proto === 'dns') {
    const name = c.query ?? 'www.example.com';
    const r = run(process.execPath, [AGENT, 'dns', dst, name, parseAddress(name) ? 'PTR' : c.family === 6 ? 'AAAA' : 'A', ...(from.bind ? [from.bind] : [])], { netns: from.ns, timeoutMs: 5000 });
    try {
      o = JSON.parse(r.stdout.trim());
    } catch {
      o = { outcome: 'error', error: r.stderr.trim() };
    }
  } else {
    o = probe(from.ns, c.proto as 'tcp' | 'udp', dst, c.port!, from.bind);
  }
  const observed = `${dst}${c.port ? `:${c.port}` : ''}${c.query ? ` ${c.query}` : ''}: ${describe(o)}`;
  // A DNS server that says "refused" or "server failure" answered, but gave no answer to the question.
  const answered = o.outcome === 'answer' && (o.rcode === undefined || o.rcode === 'nxdomain' || o.rcode === 'nodata');
  if (witness) return blockedResult(c, exp, observed, answered, witness());
  let ok: boolean;
  if (e.kind === 'blocked') ok = !answered;
  else if (e.kind === 'allow') ok = answered && (c.proto !== 'dns' || (o.addresses?.length ?? 0) > 0);
  else if (e.kind === 'nxdomain') ok = o.rcode === 'nxdomain';
  else if (e.kind === 'answer') ok = answered && Boolean(o.addresses?.some((a) => (parseAddress(a)?.addr.toString() ?? a.toLowerCase().replace(/\.$/, '')) === e.value));
  else if (e.kind === 'reaches') {
    const want = e;
    const host = owner(plan, o.server);
    const localPort = o.local ? Number(/:(\d+)$/.exec(o.local)?.[1]) : undefined;
    ok = answered && Boolean(host?.owns.includes(want.host)) && (want.port === undefined || localPort === want.port);
  } else ok = false;
  if (ok && answered && c.seenAs) {
    const want = resolveHost(plan, c.seenAs, c.family, from.segment);
    ok = peerAddress(o) === want;
    if (!ok) return { check: c, status: 'fail', expected: `${expected}, seen as ${want ?? c.seenAs}`, observed };
    return { check: c, status: 'pass', expected: `${expected}, seen as ${want}`, observed };
  }
  return { check: c, status: ok ? 'pass' : 'fail', expected: exp, observed };
}

/**
 * A lease from a real DHCP client, held against what the site says for the link: the address in a
 * pool of the node that answered (or the reserved one), and that node's router, DNS and domain.
 */
function leaseCheck(plan: LabPlan, c: LabCheck, e: { kind: 'lease'; address?: string }, ns: string, exp: string): CheckResult {
  if (c.family === 6) return lease6Check(plan, c, e, ns, exp);
  const served = plan.dhcp4[c.from] ?? [];
  if (served.length === 0) return { check: c, status: 'fail', expected: exp, observed: `the site serves no DHCPv4 on ${c.from}` };
  const mac = c.mac ?? labMac(`${plan.prefix} ${c.index}`);
  const lease = requestLease(ns, mac, join(stateDir(plan.prefix), 'udhcpc-print.sh'));
  if ('error' in lease) return { check: c, status: 'fail', expected: exp, observed: lease.error };
  const observed = `${mac} got ${lease.ip}, router ${lease.router.join(' ') || '-'}, dns ${lease.dns.join(' ') || '-'}${lease.domain ? `, domain ${lease.domain}` : ''}`;
  const n = toBig(parseAddress(lease.ip)!.addr);
  const inPool = (d: LabPlan['dhcp4'][string][number]) => d.pools.some(([lo, hi]) => toBig(parseAddress(lo)!.addr) <= n && n <= toBig(parseAddress(hi)!.addr));
  const reserved = served.flatMap((d) => d.hosts).find((h) => h.mac === mac)?.ipv4;
  // The node whose pool (or reservation) the address came from, and its options.
  const node = served.find((d) => (reserved ? d.hosts.some((h) => h.mac === mac) : inPool(d)) && d.router === lease.router[0]);
  const problems: string[] = [];
  if (e.address && lease.ip !== e.address) problems.push(`want ${e.address}`);
  if (!node) problems.push(reserved ? `reserved ${reserved}` : `not in any pool of ${c.from} with router ${lease.router[0] ?? '-'}`);
  else {
    if (reserved && lease.ip !== reserved) problems.push(`reserved ${reserved}`);
    if (node.dns.join(' ') !== lease.dns.join(' ')) problems.push(`dns should be ${node.dns.join(' ') || 'none'}`);
    if ((node.domain ?? '') !== (lease.domain ?? '')) problems.push(`domain should be ${node.domain ?? 'none'}`);
  }
  return { check: c, status: problems.length ? 'fail' : 'pass', expected: exp, observed: problems.length ? `${observed}: ${problems.join('; ')}` : `${observed} (from ${node!.node})` };
}

/**
 * DHCPv6 as a downstream router asks: an address from a pool6 and, where the link delegates, a
 * prefix from the delegation pool. A prefix only counts when the router then routes it to the
 * client: the router pings an address of the prefix, which the client holds.
 */
function lease6Check(plan: LabPlan, c: LabCheck, e: { kind: 'lease'; address?: string }, ns: string, exp: string): CheckResult {
  const served = plan.dhcp6[c.from] ?? [];
  if (served.length === 0) return { check: c, status: 'fail', expected: exp, observed: `the site serves no DHCPv6 on ${c.from}` };
  const pd = served.some((d) => d.delegate);
  const mac = c.mac ?? labMac(`${plan.prefix} ${c.index} v6`);
  const got = requestLease6(ns, mac, stateDir(plan.prefix), pd);
  if ('error' in got) return { check: c, status: 'fail', expected: exp, observed: got.error };
  const { lease, dev } = got;
  try {
    const observed = `${mac} got ${lease.address ?? 'no address'}${pd ? `, prefix ${lease.prefix ?? 'none'}` : ''}, dns ${lease.dns.join(' ') || '-'}`;
    const problems: string[] = [];
    const inRange = (a: string, [lo, hi]: [string, string]) => {
      const n = toBig(parseAddress(a)!.addr);
      return toBig(parseAddress(lo)!.addr) <= n && n <= toBig(parseAddress(hi)!.addr);
    };
    const node = served.find((d) => lease.address && d.pools.some((p) => inRange(lease.address!, p)));
    if (e.address && lease.address !== e.address) problems.push(`want ${e.address}`);
    if (!node) problems.push(`address not in any pool6 of ${c.from}`);
    else if (node.dns.join(' ') !== lease.dns.join(' ')) problems.push(`dns should be ${node.dns.join(' ') || 'none'}`);
    let routed = '';
    if (pd && node?.delegate) {
      const p = lease.prefix && parseCidr(lease.prefix);
      const pool = parseCidr(node.delegate.prefix)!;
      if (!p || !contains(pool, p.addr) || p.prefix !== node.delegate.length) problems.push(`prefix should be a /${node.delegate.length} of ${node.delegate.prefix}`);
      else {
        // The client holds an address of its prefix; the router must reach it through the route Kea's hook added.
        const inside = `${p.addr.toString().replace(/::$/, '')}::1`;
        run('ip', ['-n', ns, 'addr', 'add', `${inside}/128`, 'dev', 'lo']);
        const ping = run('ping', ['-6', '-c', '1', '-W', '2', inside], { netns: node.ns, timeoutMs: 5000 });
        run('ip', ['-n', ns, 'addr', 'del', `${inside}/128`, 'dev', 'lo']);
        routed = ping.code === 0 ? `; ${node.node} routes it (pinged ${inside})` : '';
        if (ping.code !== 0) problems.push(`${node.node} does not route ${lease.prefix} to the client (ping ${inside} failed)`);
      }
    }
    return { check: c, status: problems.length ? 'fail' : 'pass', expected: exp, observed: problems.length ? `${observed}: ${problems.join('; ')}` : `${observed} (from ${node!.node})${routed}` };
  } finally {
    run('ip', ['-n', ns, 'link', 'del', dev]);
  }
}

export function formatTable(results: CheckResult[]): string {
  const rows = results.map((r) => [r.status === 'pass' ? 'PASS' : r.status === 'skip' ? 'SKIP' : 'FAIL', r.check.name, r.expected, r.observed]);
  const head = ['', 'check', 'expected', 'observed'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** Blocked means: no answer, the probe reached a router, and the router neither passed it on nor took it in. */
function blockedResult(c: LabCheck, expected: string, observed: string, answered: boolean, w: Witness): CheckResult {
  const seen = `${observed}; at the router: ${w.arrived} arrived, ${w.passed} let through`;
  if (answered) return { check: c, status: 'fail', expected, observed: seen };
  if (w.arrived === 0) return { check: c, status: 'fail', expected, observed: `${seen}: the probe never reached a router, so nothing was tested` };
  if (w.passed > 0) return { check: c, status: 'fail', expected, observed: `${seen}: the firewall let it through (what stopped it was behind the router)` };
  return { check: c, status: 'pass', expected, observed: `${seen}: dropped at the router` };
}
