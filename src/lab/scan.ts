// Exposure scan: nmap from the ISP side against the routers' uplink addresses and every lab host
// behind them, TCP and UDP, IPv4 and IPv6. What the site declares open is computed offline by the
// packet tracer (firewall + NAT, the same semantics as the ruleset) joined with where the lab runs
// a server; any difference with what nmap finds is a failure.
import { featureModel } from '../model/build.js';
import { nat } from '../features/nat/index.js';
import type { CompileResult } from '../pipeline.js';
import { parseAddress, type Family } from '../lib/ip.js';
import { run } from '../lib/exec.js';
import { tracePacket } from '../trace/evaluate.js';
import type { LabPlan } from './plan.js';
import type { Log } from './run.js';
import { liveAddress } from './probe.js';

export interface ScanRow {
  addr: string;
  proto: 'tcp' | 'udp';
  port: number;
  expected: boolean;
  open: boolean;
  why: string;
}

/** Ports scanned: the well-known range plus every port the lab serves or the site forwards. */
function portList(result: CompileResult, plan: LabPlan): number[] {
  const ports = new Set<number>();
  for (let p = 1; p <= 1024; p++) ports.add(p);
  for (const spec of [...plan.hosts.flatMap((h) => h.serve), ...plan.routers.flatMap((r) => r.serve)]) ports.add(Number(spec.split(':')[1]));
  for (const f of featureModel(result.nodes[0].model, nat)?.forwards ?? []) ports.add(f.port);
  return [...ports].sort((a, b) => a - b);
}

function nmap(ns: string, targets: string[], family: Family, spec: string, udp: boolean, open = new Map<string, Set<string>>()): Map<string, Set<string>> {
  if (targets.length === 0) return open;
  const r = run('nmap', ['-n', '-Pn', '-sS', ...(udp ? ['-sU'] : []), ...(family === 6 ? ['-6'] : []), '-p', spec, '-T5', '--min-rate', '20000', '--max-retries', '1', '-oG', '-', ...targets], { netns: ns, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`nmap failed: ${r.stderr.trim()}`);
  for (const line of r.stdout.split('\n')) {
    const m = /^Host: (\S+) .*Ports: (.*)$/.exec(line);
    if (!m) continue;
    const key = parseAddress(m[1])!.addr.toString();
    const set = open.get(key) ?? new Set<string>();
    for (const entry of m[2].split(', ')) {
      const [port, state, proto] = entry.split('/');
      if (state === 'open') set.add(`${proto}:${port}`);
    }
    open.set(key, set);
  }
  return open;
}

function sourceFor(ns: string, dst: string): string | undefined {
  return /\bsrc (\S+)/.exec(run('ip', ['-n', ns, 'route', 'get', dst]).stdout)?.[1];
}

export function scanLab(result: CompileResult, plan: LabPlan, log: Log): { table: string; rows: ScanRow[]; unexpected: number; missing: number } {
  if (!plan.isp) throw new Error('the site has no uplink: nothing to scan from');
  const isp = plan.isp;
  const ports = portList(result, plan);
  const models = new Map(result.nodes.map((n) => [n.node, n.model]));

  // What to scan, and with which router's model to predict it: each router for its own uplink
  // addresses, the first router (the ISP's route) for everything behind.
  const targets: { addr: string; family: Family; node: string; local: string[]; router: boolean }[] = [];
  const liveOf = (r: LabPlan['routers'][number]) =>
    [4, 6].flatMap((f) => r.links.map((l) => liveAddress(r.ns, l.dev, f as Family)).filter((a): a is string => Boolean(a)));
  for (const r of plan.routers) {
    const dev = r.links.find((l) => l.segment === isp.segment)?.dev;
    const local = liveOf(r);
    for (const f of [4, 6] as const) {
      const a = dev && liveAddress(r.ns, dev, f);
      if (a) targets.push({ addr: a, family: f, node: r.node, local, router: true });
    }
  }
  const firstLocal = liveOf(plan.routers[0]);
  for (const h of plan.hosts.filter((x) => x.role !== 'isp')) {
    for (const a of h.owns) targets.push({ addr: a, family: parseAddress(a)!.family, node: plan.routers[0].node, local: firstLocal, router: false });
  }

  // The routers' own addresses get every TCP port (a service started by hand listens anywhere);
  // everything gets the well-known range and the declared ports, TCP and UDP.
  log(`scan: ${targets.length} addresses, TCP+UDP ${ports.length} ports each, all 65535 TCP ports on the routers' uplink addresses, from ${isp.ns}`);
  const found = new Map<string, Set<string>>();
  const list = ports.join(',');
  for (const fam of [4, 6] as const) {
    nmap(isp.ns, targets.filter((t) => t.family === fam && t.router).map((t) => t.addr), fam, 'T:1-65535', false, found);
    nmap(isp.ns, targets.filter((t) => t.family === fam).map((t) => t.addr), fam, `T:${list},U:${list}`, true, found);
  }

  const declaredPorts = new Set<number>([
    ...[...plan.hosts, ...plan.routers].flatMap((x) => x.serve.map((spec) => Number(spec.split(':')[1]))),
    ...result.nodes.flatMap((n) => (featureModel(n.model, nat)?.forwards ?? []).flatMap((f) => (f.portEnd ? Array.from({ length: f.portEnd - f.port + 1 }, (_, i) => f.port + i) : [f.port]))),
  ]);
  const serving = (ns: string | undefined, spec: string) =>
    Boolean(ns && [...plan.hosts, ...plan.routers].find((x) => x.ns === ns)?.serve.includes(spec));
  const rows: ScanRow[] = [];
  for (const t of targets) {
    const model = models.get(t.node)!;
    const iif = plan.routers.find((r) => r.node === t.node)!.links.find((l) => l.segment === isp.segment)!.dev;
    const src = sourceFor(isp.ns, t.addr) ?? (t.family === 4 ? isp.internet4 : isp.internet6);
    const open = found.get(parseAddress(t.addr)!.addr.toString()) ?? new Set<string>();
    for (const proto of ['tcp', 'udp'] as const) {
      // A port can only be "declared open" where the lab serves (after DNAT, any public port of a
      // forward); everything else need only be checked for being found open.
      const candidates = new Set<number>([...ports.filter((p) => declaredPorts.has(p)), ...[...open].filter((x) => x.startsWith(`${proto}:`)).map((x) => Number(x.split(':')[1]))]);
      for (const port of [...candidates].sort((a, b) => a - b)) {
        const tr = tracePacket(model, { family: t.family, proto, src, dst: t.addr, dport: port, iif }, { localAddresses: t.local });
        let expected = false;
        let why = `${tr.verdict} by ${tr.decidedBy.path}`;
        if (tr.verdict === 'accept') {
          const dst = tr.dnat?.addr ?? t.addr;
          const dport = tr.dnat?.port ?? port;
          const owner = tr.hook === 'input' ? plan.routers.find((r) => r.node === t.node)!.ns : plan.hosts.find((h) => h.owns.includes(dst))?.ns;
          expected = serving(owner, `${proto}:${dport}`);
          why += tr.dnat ? ` → ${dst}:${dport}` : '';
          why += expected ? ', server listening' : ', nothing listening';
        }
        const isOpen = open.has(`${proto}:${port}`);
        if (expected || isOpen) rows.push({ addr: t.addr, proto, port, expected, open: isOpen, why });
      }
    }
  }
  const unexpected = rows.filter((r) => r.open && !r.expected).length;
  const missing = rows.filter((r) => r.expected && !r.open).length;
  const lines = rows.map((r) => `${r.open === r.expected ? 'OK  ' : 'FAIL'}  ${`${r.addr} ${r.proto}/${r.port}`.padEnd(44)}  ${(r.expected ? 'open' : 'closed').padEnd(8)}  ${(r.open ? 'open' : 'closed').padEnd(8)}  ${r.why}`);
  const table = [`      ${'address port'.padEnd(44)}  declared  observed  why`, ...lines, '', `scan: ${rows.length - unexpected - missing} open as declared, ${unexpected} unexpected open, ${missing} declared but not open (${targets.length} addresses)`].join('\n');
  return { table, rows, unexpected, missing };
}
