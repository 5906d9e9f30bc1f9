// Brings a LabPlan to life in network namespaces and tears it down. The only lab code that touches
// the system; it never changes the root namespace (veths are created inside namespaces).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from '../lib/exec.js';
import { networkdToIp } from '../targets/networkd-interpreter.js';
import { LAB_PREFIX, LabError, type LabPlan } from './plan.js';
import { NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { startPrefixDelegation } from './pd.js';

export const STATE_ROOT = '/run/kairo-lab';
export const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.mjs');

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

const UDHCPC_SCRIPT = `#!/bin/sh
# kairo lab: apply a DHCPv4 lease inside the namespace only (never /etc/resolv.conf).
case "$1" in
  bound|renew)
    ip addr flush dev "$interface" scope global
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
    ;;
  deconfig) ip addr flush dev "$interface" scope global ;;
esac
exit 0
`;

function baseNamespace(ns: string, forwarding: boolean): void {
  must('ip', ['netns', 'add', ns]);
  // The lab owns both ends of every link: duplicate address detection only adds delay.
  must('sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', ...(forwarding ? ['net.ipv6.conf.all.forwarding=1', 'net.ipv4.ip_forward=1'] : [])], { netns: ns });
  ipn(ns, 'link', 'set', 'lo', 'up');
}

export function waitFor(what: string, ok: () => boolean, ms: number): void {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`lab: timed out waiting for ${what}`);
    run('sleep', ['0.05']);
  }
}

function listening(ns: string, specs: string[]): boolean {
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

  log(`namespaces: ${1 + plan.routers.length + plan.hosts.length} (${plan.prefix}-*)`);
  baseNamespace(plan.fabric, false);
  for (const r of plan.routers) baseNamespace(r.ns, false);
  for (const h of plan.hosts) baseNamespace(h.ns, h.role === 'isp');

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

  log(`routers: ${plan.routers.map((r) => r.node).join(', ')}: links, then the rendered networkd files`);
  for (const r of plan.routers) {
    const root = join(dir, r.node);
    for (const a of r.artifacts) {
      const target = join(root, a.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, a.content, { mode: a.mode });
    }
    for (const l of r.links) toSwitch(r.ns, l.dev, l.segment);
    for (const cmd of r.preLinks) ipn(r.ns, ...cmd);
    const nd = networkdToIp(r.artifacts);
    for (const br of nd.bridges) ipn(r.ns, 'link', 'add', br, 'type', 'bridge');
    // Hosts that plug straight into this router's bridges (bridges without declared ports).
    for (const h of plan.hosts.filter((x) => x.link.routerBridge?.ns === r.ns)) {
      const rb = h.link.routerBridge!;
      ipn(r.ns, 'link', 'add', rb.port, 'type', 'veth', 'peer', 'name', h.link.dev, 'netns', h.ns);
      ipn(r.ns, 'link', 'set', rb.port, 'master', rb.bridge);
      ipn(r.ns, 'link', 'set', rb.port, 'up');
    }
    for (const cmd of nd.commands) ipn(r.ns, ...cmd);
    for (const note of r.notes) log(note);
    for (const cmd of r.emulate) ipn(r.ns, ...cmd);
    // sysctl before anything listens to RAs (accept_ra=2 must be in place when they arrive).
    must('sysctl', ['-q', '-p', join(root, SYSCTL_PATH)], { netns: r.ns });
    const nft = run('nft', ['-f', join(root, NFT_PATH)], { netns: r.ns });
    if (nft.code !== 0) throw new Error(`lab: nft rejected the ruleset of ${r.node}: ${nft.stderr.trim()}`);
  }

  log(`hosts: ${plan.hosts.map((h) => h.label).join('; ')}`);
  for (const h of plan.hosts) {
    if (!h.link.routerBridge) toSwitch(h.ns, h.link.dev, h.link.segment);
    ipn(h.ns, 'link', 'set', h.link.dev, 'up');
    for (const a of h.addrs) ipn(h.ns, 'addr', 'add', ...a.slice(0, 1), ...a.slice(1), 'dev', h.link.dev);
    for (const rt of h.routes) ipn(h.ns, 'route', 'add', ...rt, ...(rt.includes('dev') ? [] : ['dev', h.link.dev]));
  }

  const isp = plan.isp;
  if (isp) {
    log(`ISP: internet hosts ${isp.internet4} and ${isp.internet6}${isp.dhcp4 ? ', DHCPv4' : ''}${isp.ra ? `, router advertisements${isp.ra.prefix ? ` of ${isp.ra.prefix}` : ''}` : ''}, DNS`);
    ipn(isp.ns, 'addr', 'add', `${isp.internet4}/32`, 'dev', 'lo');
    ipn(isp.ns, 'addr', 'add', `${isp.internet6}/128`, 'dev', 'lo', 'nodad');
    const dns = ['--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${isp.internet4}`, `--listen-address=${isp.internet6}`,
      '--port=53', '--user=root', `--pid-file=${join(dir, 'dns.pid')}`, `--address=/example.test/${isp.internet4}`, `--address=/example.test/${isp.internet6}`];
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
  }

  // DHCPv4 on router uplinks, from the networkd files' DHCP=ipv4.
  for (const r of plan.routers) {
    for (const dev of networkdToIp(r.artifacts).dhcp4) {
      const script = join(dir, 'udhcpc.sh');
      writeFileSync(script, UDHCPC_SCRIPT);
      chmodSync(script, 0o755);
      log(`${r.node}: DHCPv4 client on ${dev}`);
      const res = run('udhcpc', ['-i', dev, '-s', script, '-q', '-f', '-n', '-t', '6', '-T', '1', '-A', '1'], { netns: r.ns, timeoutMs: 15000 });
      if (res.code !== 0) throw new Error(`lab: no DHCPv4 lease on ${r.node}:${dev}: ${res.stderr.trim() || res.stdout.trim()}`);
    }
  }
  // With a dynamic uplink the ISP learns the router's address only now. Route the inside prefixes
  // to it anyway: a neighbour on the ISP's link can always try, and the firewall must stop it.
  if (isp?.dhcp4 && plan.insideRoutes4.length > 0) {
    const r = plan.routers[0];
    const dev = r.links.find((l) => l.segment === isp.segment)?.dev;
    const leased = dev && run('ip', ['-n', r.ns, '-j', '-4', 'addr', 'show', 'dev', dev]).stdout.match(/"local":"([\d.]+)"/)?.[1];
    if (leased) for (const net of plan.insideRoutes4) ipn(isp.ns, 'route', 'add', net, 'via', leased);
  }

  startPrefixDelegation(plan, dir, log);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 2));

  log('servers: traffic agents on targets, VMs, clients, ISP and the router\'s open ports');
  const servers = [...plan.hosts, ...plan.routers].filter((x) => x.serve.length).map(({ ns, serve }) => ({ ns, serve, log: join(logs, `${ns}.log`) }));
  const pids = servers.map((s) => startIn(s.ns, s.log, process.execPath, [AGENT, 'serve', s.ns, ...s.serve]));
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

  if (isp?.ra?.prefix) {
    const up = plan.uplink!;
    for (const r of plan.routers) {
      const dev = r.links.find((l) => l.segment === up)?.dev;
      if (dev) waitFor(`SLAAC address on ${r.node}:${dev}`, () => /inet6 .* scope global/.test(run('ip', ['-n', r.ns, '-6', 'addr', 'show', 'dev', dev]).stdout), 8000);
    }
  }
  log('up');
}

export function labIsUp(prefix: string): boolean {
  return existsSync(join(stateDir(prefix), 'plan.json')) && listLabNamespaces(prefix).length > 0;
}
