// Brings a LabPlan to life in network namespaces and tears it down. The only lab code that touches
// the system; it never changes the root namespace (veths are created inside namespaces).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from '../lib/exec.js';
import { managedLinks } from '../targets/networkd.js';
import { startNetworkd, waitConfigured, type RealNetworkd } from './networkd-real.js';
import { LAB_PREFIX, LabError, type LabPlan } from './plan.js';
import { NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { NETWORKD_DIR } from '../features/interfaces/networkd.js';
import { startPdServer, followDelegation } from './pd.js';
import { sandboxScript, unitExec } from '../targets/sandbox.js';
import { writeDhcpScript } from './dhcp-probe.js';
import { localLeaseDb, startLeaseDb } from './lease-db.js';
import { routerStandIns, writeIspDns, writeStandIns } from './dns.js';

export const STATE_ROOT = '/run/kairo-lab';
export const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.mjs');
const KAIRO_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'kairo.js');

export type Log = (step: string) => void;

export function stateDir(prefix: string): string {
  return join(STATE_ROOT, prefix);
}

const ipn = (ns: string, ...args: string[]) => must('ip', ['-n', ns, ...args]);

/** Starts a long-running process inside a namespace, detached, output to a log file. Returns its pid. */
export function startIn(ns: string, logFile: string, cmd: string, args: string[]): number | undefined {
  const fd = openSync(logFile, 'a');
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  p.unref();
  return p.pid;
}

/** Whether a process started by startIn still runs (`ip netns exec` execs it, so the pid is its own; not yet reaped = a zombie). */
function running(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The end of a log file, for an error: a server's own words about why it did not start. */
function logTail(file: string, lines = 20): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8').trimEnd();
  } catch {
    // no log at all: said below
  }
  return text ? text.split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n') : '  (its log is empty)';
}

export function listLabNamespaces(prefix = LAB_PREFIX): string[] {
  return run('ip', ['netns', 'list']).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && (n === prefix || n.startsWith(prefix.endsWith('-') ? prefix : `${prefix}-`)));
}

/** Kills every process inside each namespace, then deletes it. Safe to run any number of times. */
export function removeNamespaces(names: string[]): void {
  const pidsOf = (ns: string) => run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean);
  for (const ns of names) for (const pid of pidsOf(ns)) run('kill', ['-TERM', pid]);
  const deadline = Date.now() + 1500;
  for (const ns of names) {
    while (pidsOf(ns).length > 0 && Date.now() < deadline) run('sleep', ['0.05']);
    for (const pid of pidsOf(ns)) run('kill', ['-KILL', pid]);
  }
  for (const ns of names) run('ip', ['netns', 'del', ns]);
}

export function labDown(prefix: string): string[] {
  const names = listLabNamespaces(prefix);
  removeNamespaces(names);
  rmSync(stateDir(prefix), { recursive: true, force: true });
  return names;
}

/** After a crash: every lab namespace of any site, and the state directory. */
export function labDownAll(): string[] {
  const names = listLabNamespaces(LAB_PREFIX);
  removeNamespaces(names);
  rmSync(STATE_ROOT, { recursive: true, force: true });
  return names;
}

/** A namespace with loopback up. Only lab plumbing (fabric, ISP, clients) turns DAD off: both
 * ends are the lab's own, and their IPv6 addresses are added `nodad` anyway. Routers keep the
 * kernel's DAD, as on a host: networkd waits for it before it calls a link configured. */
function baseNamespace(ns: string, opts: { forwarding?: boolean; dad?: boolean } = {}): void {
  must('ip', ['netns', 'add', ns]);
  const keys = [...(opts.dad ? [] : ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']), ...(opts.forwarding ? ['net.ipv6.conf.all.forwarding=1', 'net.ipv4.ip_forward=1'] : [])];
  if (keys.length) must('sysctl', ['-q', '-w', ...keys], { netns: ns });
  ipn(ns, 'link', 'set', 'lo', 'up');
}

/** A machine-id of the router's own (networkd derives bridge MACs and DHCP DUIDs from it), stable per site and node. */
function machineIdOf(prefix: string, node: string): string {
  return createHash('sha256').update(`kairo-lab ${prefix} ${node}`).digest('hex').slice(0, 32);
}

export function waitFor(what: string, ok: () => boolean, ms: number): void {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`lab: timed out waiting for ${what}`);
    run('sleep', ['0.05']);
  }
}

function listening(ns: string, specs: string[]): boolean {
  // `nflog:N`: a daemon with no port (ulogd) is ready once it has bound NFLOG group N in the
  // namespace; the kernel lists the bound groups per network namespace.
  const nflog = specs.some((s) => s.startsWith('nflog:')) ? run('cat', ['/proc/net/netfilter/nfnetlink_log'], { netns: ns }).stdout : '';
  if (!specs.filter((s) => s.startsWith('nflog:')).every((s) => new RegExp(`^\\s*${s.slice(6)}\\s`, 'm').test(nflog))) return false;
  specs = specs.filter((s) => !s.startsWith('nflog:'));
  if (specs.length === 0) return true;
  const tcp = run('ss', ['-Hltn'], { netns: ns }).stdout;
  const udp = run('ss', ['-Hlun'], { netns: ns }).stdout;
  return specs.every((s) => {
    const [proto, port] = s.split(':');
    return new RegExp(`:${port}\\s`).test(proto === 'udp' ? udp : tcp);
  });
}

/** Builds the lab; if any step fails, removes what was built and rethrows (no half-built lab is left). */
export function labUp(plan: LabPlan, say: Log): void {
  try {
    buildLab(plan, say);
  } catch (e) {
    labDown(plan.prefix);
    throw new LabError(`${(e as Error).message}\n(the lab was removed again; nothing of it is left)`);
  }
}

export { LabError } from './plan.js';

function buildLab(plan: LabPlan, say: Log): void {
  const t0 = Date.now();
  const log: Log = (s) => say(`[${String(Date.now() - t0).padStart(5)} ms] ${s}`);
  labDown(plan.prefix);
  const dir = stateDir(plan.prefix);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 2));
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  writeDhcpScript(dir);

  log(`namespaces: ${1 + plan.routers.length + plan.hosts.length} (${plan.prefix}-*)`);
  baseNamespace(plan.fabric);
  for (const r of plan.routers) baseNamespace(r.ns, { dad: true });
  for (const h of plan.hosts) baseNamespace(h.ns, { forwarding: h.role === 'isp' });

  // Links: one bridge per segment in the fabric namespace (a switch), unless hosts plug into a router's own bridge.
  const switchOf = new Map(plan.segments.map((s, i) => [s, `s${i}`]));
  for (const br of switchOf.values()) {
    ipn(plan.fabric, 'link', 'add', br, 'type', 'bridge');
    ipn(plan.fabric, 'link', 'set', br, 'up');
  }
  let port = 0;
  const toSwitch = (ns: string, dev: string, segment: string) => {
    const p = `p${port++}`;
    ipn(plan.fabric, 'link', 'add', p, 'type', 'veth', 'peer', 'name', dev, 'netns', ns);
    ipn(plan.fabric, 'link', 'set', p, 'master', switchOf.get(segment)!);
    ipn(plan.fabric, 'link', 'set', p, 'up');
  };

  // Routers, as a host boots: the files in place, the ruleset loaded before the network comes up.
  log(`routers: ${plan.routers.map((r) => r.node).join(', ')}: rendered files, links, ruleset`);
  for (const r of plan.routers) {
    const root = join(dir, r.node);
    for (const a of r.artifacts) {
      const target = join(root, a.path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeFileSync(target, a.content, { mode: a.mode });
    }
    for (const l of r.links) toSwitch(r.ns, l.dev, l.segment);
    for (const cmd of r.preLinks) ipn(r.ns, ...cmd);
    const nft = run('nft', ['-f', join(root, NFT_PATH)], { netns: r.ns });
    if (nft.code !== 0) throw new Error(`lab: nft rejected the ruleset of ${r.node}: ${nft.stderr.trim()}`);
  }

  log(`hosts: ${plan.hosts.map((h) => h.label).join('; ')}`);
  for (const h of plan.hosts) {
    // A host on a router's own bridge: its port waits in the router namespace until networkd made the bridge.
    if (h.link.routerBridge) ipn(h.link.routerBridge.ns, 'link', 'add', h.link.routerBridge.port, 'type', 'veth', 'peer', 'name', h.link.dev, 'netns', h.ns);
    else toSwitch(h.ns, h.link.dev, h.link.segment);
    // A SLAAC client takes the router's advertisements (said explicitly, not left to the namespace's defaults).
    if (h.slaac) must('sysctl', ['-q', '-w', `net.ipv6.conf.${h.link.dev}.accept_ra=1`, `net.ipv6.conf.${h.link.dev}.autoconf=1`], { netns: h.ns });
    ipn(h.ns, 'link', 'set', h.link.dev, 'up');
    for (const a of h.addrs) ipn(h.ns, 'addr', 'add', ...a.slice(0, 1), ...a.slice(1), 'dev', h.link.dev);
    for (const rt of h.routes) ipn(h.ns, 'route', 'add', ...rt, ...(rt.includes('dev') ? [] : ['dev', h.link.dev]));
  }

  // The ISP's servers before the routers' networkd asks them (a DHCP or RA client that finds no
  // server backs off for seconds).
  const isp = plan.isp;
  if (isp) {
    log(`ISP: internet hosts ${isp.internet4} and ${isp.internet6}${isp.dhcp4 ? ', DHCPv4' : ''}${isp.ra ? `, router advertisements${isp.ra.prefix ? ` of ${isp.ra.prefix}` : ''}` : ''}${isp.dhcp6 ? ', DHCPv6-PD (Kea)' : ''}, DNS`);
    ipn(isp.ns, 'addr', 'add', `${isp.internet4}/32`, 'dev', 'lo');
    ipn(isp.ns, 'addr', 'add', `${isp.internet6}/128`, 'dev', 'lo', 'nodad');
    const dns = ['--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${isp.internet4}`, `--listen-address=${isp.internet6}`,
      '--port=53', '--user=root', `--pid-file=${join(dir, 'dns.pid')}`, `--address=/example.test/${isp.internet4}`, `--address=/example.test/${isp.internet6}`,
      // example.com too: a resolver on the router never asks for test. (a reserved name it answers itself, RFC 6761).
      `--address=/example.com/${isp.internet4}`, `--address=/example.com/${isp.internet6}`];
    must('dnsmasq', dns, { netns: isp.ns });
    if (isp.dhcp4) {
      const d = isp.dhcp4;
      must('dnsmasq', ['--conf-file=/dev/null', '--port=0', '--bind-interfaces', `--interface=${isp.dev}`, '--except-interface=lo', '--user=root', '--dhcp-authoritative', '--no-ping',
        `--dhcp-range=${d.from},${d.to},${d.subnet.prefix === 24 ? '255.255.255.0' : d.subnet.prefix},1h`, `--dhcp-option=option:router,${d.router}`,
        `--dhcp-leasefile=${join(dir, 'dhcp.leases')}`, `--pid-file=${join(dir, 'dhcp.pid')}`], { netns: isp.ns });
    }
    if (isp.ra) {
      const conf = join(dir, 'radvd.conf');
      const prefix = isp.ra.prefix ? `\n  prefix ${isp.ra.prefix} { AdvOnLink on; AdvAutonomous on; };` : '';
      const managed = isp.ra.managed ? '\n  AdvManagedFlag on;\n  AdvOtherConfigFlag on;' : '';
      writeFileSync(conf, `interface ${isp.dev} {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 10;${managed}${prefix}\n};\n`);
      must('radvd', ['-C', conf, '-p', join(dir, 'radvd.pid'), '-m', 'logfile', '-l', join(logs, 'radvd.log')], { netns: isp.ns });
    }
    startPdServer(plan, dir);
    if (isp.dns) startIspDns(plan, isp.ns, isp.dns, dir);
  }

  // Debian's systemd-networkd in every router namespace on the rendered directory (DHCPv4,
  // router advertisements and DHCPv6-PD are its own clients), all at once, then wait for each.
  log(`routers: systemd-networkd on the rendered files`);
  const networkds: [LabPlan['routers'][number], RealNetworkd][] = plan.routers.map((r) => [r, startNetworkd({
    ns: r.ns, configDir: join(dir, r.node, NETWORKD_DIR), logFile: join(logs, `networkd-${r.node}.log`), machineId: machineIdOf(plan.prefix, r.node),
    debug: process.env.KAIRO_NETWORKD_DEBUG === '1', // its log says why a link waits
  })]);
  // The traffic agents listen on wildcard addresses: they start while networkd configures the
  // routers (duplicate address detection takes a second or two) and are waited for afterwards.
  log('servers: traffic agents on targets, VMs, clients, ISP and the router\'s open ports');
  const servers = [...plan.hosts, ...plan.routers].filter((x) => x.serve.length).map(({ ns, serve }) => ({ ns, serve, log: join(logs, `${ns}.log`) }));
  const pids = servers.map((s) => startIn(s.ns, s.log, process.execPath, [AGENT, 'serve', s.ns, ...s.serve]));

  for (const [r, nd] of networkds) {
    const bridged = plan.hosts.filter((x) => x.link.routerBridge?.ns === r.ns);
    if (bridged.length > 0) {
      // The bridges are networkd's (from the .netdev files): plug the hosts' ports in once they
      // exist. Not once configured: an IPv6 address on a bridge without ports never gets past
      // duplicate address detection (no carrier), so networkd waits for a port too.
      for (const br of new Set(bridged.map((h) => h.link.routerBridge!.bridge))) waitFor(`networkd to create bridge ${br} in ${r.ns}`, () => run('ip', ['-n', r.ns, 'link', 'show', br]).code === 0, 10_000);
      for (const h of bridged) {
        ipn(r.ns, 'link', 'set', h.link.routerBridge!.port, 'master', h.link.routerBridge!.bridge);
        ipn(r.ns, 'link', 'set', h.link.routerBridge!.port, 'up');
      }
    }
    const w = waitConfigured(nd, managedLinks(r.artifacts), 20_000);
    log(`${r.node}: networkd configured ${managedLinks(r.artifacts).join(', ')} (${w.sinceStartMs} ms after its start)`);
    for (const note of r.notes) log(note);
    for (const cmd of r.emulate) ipn(r.ns, ...cmd);
    // Forwarding (and the rest of the sysctl file) after the ruleset, as kairo-boot does.
    must('sysctl', ['-q', '-p', join(dir, r.node, SYSCTL_PATH)], { netns: r.ns });
  }

  // A lease database on the router itself (MySQL): the lab stands in for it before Kea starts.
  const socketDirs = new Map<string, string>();
  for (const r of plan.routers) {
    const db = r.daemons.length ? localLeaseDb(r.artifacts) : undefined;
    if (!db) continue;
    const socketDir = join(dir, `${r.node}-mysqld-run`);
    log(`${r.node}: MariaDB for the ${db.type} lease database '${db.name}' (the lab stands in for it)`);
    startLeaseDb(r.ns, db, join(dir, `${r.node}-mariadb`), socketDir, startIn, join(logs, `mariadb-${r.node}.log`));
    socketDirs.set(r.node, socketDir);
  }

  // The routers' daemons (Kea, unbound) as their units run them, on the rendered files.
  const daemons = plan.routers.flatMap((r) => r.daemons.map((d) => ({ r, d, ...startDaemon(r, d.unit, dir, logs, socketDirs.get(r.node)) })));
  if (daemons.length) log(`routers: daemons ${daemons.map((x) => `${x.d.unit} (${x.r.node})`).join(', ')}`);

  // With a dynamic uplink the ISP learns the router's address only now. Route the inside prefixes
  // to it anyway: a neighbour on the ISP's link can always try, and the firewall must stop it.
  if (isp?.dhcp4 && plan.insideRoutes4.length > 0) {
    const r = plan.routers[0];
    const dev = r.links.find((l) => l.segment === isp.segment)?.dev;
    const leased = dev && run('ip', ['-n', r.ns, '-j', '-4', 'addr', 'show', 'dev', dev]).stdout.match(/"local":"([\d.]+)"/)?.[1];
    if (leased) for (const net of plan.insideRoutes4) ipn(isp.ns, 'route', 'add', net, 'via', leased);
  }

  followDelegation(plan, dir, log);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 2));

  servers.forEach((s, i) => {
    // An agent that exits or does not listen says why in its log (a missing agent file, a port in use): show it.
    const failed = (why: string) => new Error(`lab: the traffic agent in ${s.ns} (${s.serve.join(' ')}) ${why}; the end of its log:\n${logTail(s.log)}`);
    const deadline = Date.now() + 5000;
    while (!listening(s.ns, s.serve)) {
      if (!running(pids[i])) throw failed(`exited (${process.execPath} ${AGENT})`);
      if (Date.now() > deadline) throw failed('did not listen within 5 s');
      run('sleep', ['0.05']);
    }
  });

  for (const x of daemons) {
    if (x.d.listens.length === 0) {
      // A daemon that listens on nothing (softflowd captures and sends) is taken as ready when it
      // still runs a moment after its start: one that cannot open its device or reach its
      // collector exits at once.
      run('sleep', [String(Math.max(0, 300 - (Date.now() - x.started)) / 1000)]);
      if (!running(x.pid)) throw new Error(`lab: ${x.d.unit} on ${x.r.node} exited; the end of its log:\n${logTail(x.log)}`);
      continue;
    }
    const deadline = Date.now() + 15_000;
    while (!listening(x.r.ns, x.d.listens)) {
      if (!running(x.pid)) throw new Error(`lab: ${x.d.unit} on ${x.r.node} exited; the end of its log:\n${logTail(x.log)}`);
      if (Date.now() > deadline) throw new Error(`lab: ${x.d.unit} on ${x.r.node} did not listen on ${x.d.listens.join(', ')} within 15 s; the end of its log:\n${logTail(x.log)}`);
      run('sleep', ['0.05']);
    }
  }

  if (isp?.ra?.prefix) {
    const up = plan.uplink!;
    for (const r of plan.routers) {
      const dev = r.links.find((l) => l.segment === up)?.dev;
      if (dev) waitFor(`SLAAC address on ${r.node}:${dev}`, () => /inet6 .* scope global/.test(run('ip', ['-n', r.ns, '-6', 'addr', 'show', 'dev', dev]).stdout), 8000);
    }
  }
  log('up');
}

/**
 * Where a lab router's daemons keep what they write to /var/lib (an overlay's upper layer, beside
 * the router's rendered tree ROOT): `kairo flows` reads the local collector's files there.
 */
export function labVarLib(routerRoot: string): string {
  return `${routerRoot}-var`;
}

/**
 * Starts a unit's daemon in the router namespace as systemd would: its ExecStartPre lines, then
 * ExecStart, with its environment and directories, on the node's rendered files laid over /etc
 * and /usr, a /run of its own and a /var/lib whose changes stay in the lab's state directory.
 */
function startDaemon(r: LabPlan['routers'][number], unit: string, dir: string, logs: string, mysqlSocketDir?: string): { pid: number | undefined; log: string; started: number } {
  const standIns = join(dir, `${r.node}-standins`);
  const file = r.artifacts.find((a) => a.path === `/etc/systemd/system/${unit}`);
  const exec = file && unitExec(file.content);
  if (!exec) throw new Error(`lab: ${unit} of ${r.node} has no unit file with ExecStart`);
  // kairo's own daemons (the exporter) run from this checkout or package, as `kairo` would on a host.
  const start = exec.start.replace(/^\/usr\/bin\/env kairo /, `${process.execPath} ${KAIRO_BIN} `);
  const script = [...exec.pre, `exec ${start}`].join('\n');
  const sh = sandboxScript({
    root: join(dir, r.node), runtimeDirs: exec.runtimeDirs, sharedRun: join(dir, `${r.node}-run`), env: exec.env, ...(existsSync(standIns) ? { standIns } : {}),
    varLib: { upper: labVarLib(join(dir, r.node)), dirs: exec.stateDirs },
    ...(exec.logsDirs.length ? { varLog: { upper: join(dir, r.node, 'var', 'log'), work: join(dir, `${r.node}-varlog-work`), dirs: exec.logsDirs } } : {}),
    binds: mysqlSocketDir ? [[mysqlSocketDir, '/run/mysqld']] : undefined,
  }, script);
  const log = join(logs, `${unit.replace(/\.service$/, '')}-${r.node}.log`);
  return { pid: startIn(r.ns, log, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', sh]), log, started: Date.now() };
}

/**
 * The Internet's DNS for the router's resolver (./dns.ts): the root server and the site's
 * forwarders on the ISP's loopback, served by one unbound; the files the resolver must see
 * instead of the system's (root hints, trust anchor, CA bundle) laid out for the sandbox.
 */
function startIspDns(plan: LabPlan, ns: string, d: NonNullable<LabPlan['isp']>['dns'] & object, dir: string): void {
  ipn(ns, 'addr', 'add', `${d.root4}/32`, 'dev', 'lo');
  for (const a of new Set(d.forwarders.map((f) => f.address))) {
    if (a === plan.isp!.internet4 || a === plan.isp!.internet6) continue;
    ipn(ns, 'addr', 'add', ...(a.includes(':') ? [`${a}/128`, 'nodad'] : [`${a}/32`]), 'dev', 'lo');
  }
  const ispDir = join(dir, 'dns-isp');
  const { conf, caPem } = writeIspDns(d, ispDir);
  must('unbound', ['-c', conf], { netns: ns });
  const ports = [...new Set([53, ...d.forwarders.map((f) => f.port)])];
  waitFor(`the lab's DNS (unbound) in ${ns}`, () => listening(ns, ports.map((p) => `udp:${p}`).filter((p) => p !== 'udp:853').concat(ports.includes(853) ? ['tcp:853'] : [])), 5000);
  for (const r of plan.routers) writeStandIns(join(dir, `${r.node}-standins`), routerStandIns(d, caPem));
}

export function labIsUp(prefix: string): boolean {
  return existsSync(join(stateDir(prefix), 'plan.json')) && listLabNamespaces(prefix).length > 0;
}
