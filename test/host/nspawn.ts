// A real Debian 12 host for tests: systemd as PID 1 in a container (systemd-nspawn) inside a
// network namespace this helper creates, booted from the root scripts/host-root.sh builds.
//
//   const h = NspawnHost.create({ name: 'boot', links: ['lan0'] });
//   h.boot();                              // → { ms, state: 'running' | 'degraded', failed }
//   h.sh('networkctl list');               // commands inside (nsenter into the container's PID 1)
//   h.writeFile('/etc/systemd/network/10-lan0.network', text);
//   h.powerCycle();                        // stop, new network namespace, boot: same disk
//   h.destroy();                           // every process, namespace, cgroup and file, by name/PID
//
// The cached root is never written: each host boots an overlay (lower: the cache, upper: its own
// directory under /run/kairo-host/NAME) mounted in a private mount namespace that lives and dies
// with systemd-nspawn, so a crash leaves no mount behind. The upper directory is the host's disk:
// it survives stop/boot (a power cycle) and goes with destroy().
//
// Network: the container's network namespace `kh-NAME` is created at every boot and deleted at
// every stop (power off: the NICs go, a new boot sees new ones). Each link in `links` is a veth:
// `LINK` inside the host, `LINK-p` outside, a port of the bridge `LINK` in the namespace
// `kh-NAME-out` (the switch), which lives from create() to destroy(): put the far end's addresses
// on that bridge and they survive power cycles.
//
// Switches, from /work/shared/notes/real-systemd.md: --register=no --keep-unit (no machined or
// system bus on this host), --network-namespace-path plus --capability=CAP_NET_ADMIN (else
// networkd's ConditionCapability fails), SYSTEMD_NSPAWN_API_VFS_WRITABLE=network (else /proc/sys
// is read-only). nspawn (with --keep-unit and no systemd on the host) puts itself and the
// container in `supervisor` and `payload` below its own cgroup: each host gets its own cgroup
// `kairo-host/NAME` first, or two hosts would share one tree.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, must, run, type RunResult } from '../../src/lib/exec.js';

export const REPO = join(import.meta.dirname, '..', '..');
export const HOST_BUILD_SCRIPT = join(REPO, 'scripts', 'host-root.sh');
export const HOST_CACHE = process.env.KAIRO_HOST_CACHE ?? '/var/cache/kairo-host';
export const HOST_STATE = process.env.KAIRO_HOST_STATE ?? '/run/kairo-host';
export const HOST_PREFIX = 'kh-';
const ROOT = join(HOST_CACHE, 'root');
const NSPAWN = join(HOST_CACHE, 'nspawn', 'usr', 'bin', 'systemd-nspawn');
const CGROUP_GROUP = 'kairo-host';
const NODE = '/usr/bin/node';
const PATH_IN = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const sleep = (s: number) => spawnSync('sleep', [String(s)]);

// --- the root ------------------------------------------------------------------------------------

/** Why a host cannot boot here (not root, root not built or stale, nspawn not running), or false. Never builds. */
export function hostRootUnavailable(): string | false {
  if (!isRoot()) return 'booting a host needs root (namespaces, mounts, cgroups)';
  if (!existsSync(join(ROOT, 'usr/lib/systemd/systemd'))) return `no host root in ${ROOT}; bash scripts/host-root.sh builds it (about 30 s)`;
  const stamp = createHash('sha256').update(readFileSync(HOST_BUILD_SCRIPT)).digest('hex').slice(0, 16);
  const built = existsSync(join(HOST_CACHE, 'root.stamp')) ? readFileSync(join(HOST_CACHE, 'root.stamp'), 'utf8').trim() : '';
  if (built !== stamp) return `the host root in ${ROOT} was built by another version of scripts/host-root.sh; run it again`;
  const v = run(NSPAWN, ['--version']);
  if (v.code !== 0) return `${NSPAWN} does not run (${(v.stderr || v.stdout).trim().split('\n')[0] || 'missing'}); bash scripts/host-root.sh unpacks it again`;
  for (const cmd of ['unshare', 'nsenter', 'ip']) if (run('sh', ['-c', `command -v ${cmd}`]).code !== 0) return `${cmd} is not installed`;
  if (!existsSync('/sys/fs/cgroup/cgroup.controllers') && !existsSync('/sys/fs/cgroup/systemd')) return 'no cgroup hierarchy for systemd (neither cgroup2 on /sys/fs/cgroup nor a name=systemd hierarchy)';
  return false;
}

/** Runs scripts/host-root.sh (root, Debian mirror): builds the root, or finds it cached. */
export function buildHostRoot(opts: { timeoutMs?: number; quiet?: boolean } = {}): { ok: boolean; output: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', [HOST_BUILD_SCRIPT], { encoding: 'utf8', timeout: opts.timeoutMs ?? 900_000, env: process.env, maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  if (!opts.quiet) process.stderr.write(output);
  return { ok: r.status === 0, output, ms: Date.now() - t0 };
}

/**
 * Why the host tests cannot run here, or false. With KAIRO_HOST_BUILD=1 or CI=true a missing or
 * stale root is built first; a build that fails here (no mirror, no mmdebstrap) is a skip with its
 * reason, never a pass.
 */
export function hostTestSkip(): string | false {
  let why = hostRootUnavailable();
  if (why && isRoot() && (process.env.KAIRO_HOST_BUILD === '1' || process.env.CI === 'true')) {
    const b = buildHostRoot();
    if (!b.ok) return `skipped: scripts/host-root.sh could not build the root here: ${b.output.trim().split('\n').slice(-3).join(' | ')}`;
    why = hostRootUnavailable();
  }
  return why ? `skipped: ${why}` : false;
}

// --- processes, cgroups, namespaces ---------------------------------------------------------------

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The cgroup hierarchies a host is placed in: cgroup2 alone, or name=systemd and unified (hybrid). */
function cgroupBases(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((b) => existsSync(join(b, 'cgroup.procs')));
}
const cgroupDirs = (name: string) => cgroupBases().map((b) => join(b, CGROUP_GROUP, name));

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...subdirs(join(dir, e.name)), join(dir, e.name));
  return out; // children before parents
}

function cgroupPids(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    for (const c of [...subdirs(d), d]) {
      try {
        for (const p of readFileSync(join(c, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch { /* gone */ }
    }
  }
  return [...pids].filter((p) => alive(p));
}

function removeCgroups(dirs: string[]): void {
  for (const d of dirs) for (const c of [...subdirs(d), d]) if (existsSync(c)) run('rmdir', [c]);
}

const netnsExists = (ns: string) => existsSync(join('/run/netns', ns));
const nsPids = (ns: string) => (netnsExists(ns) ? run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean).map(Number) : []);

function deleteNetns(ns: string): void {
  if (!netnsExists(ns)) return;
  for (const p of nsPids(ns)) run('kill', ['-KILL', String(p)]);
  const deadline = Date.now() + 2000;
  while (nsPids(ns).length > 0 && Date.now() < deadline) sleep(0.02);
  run('ip', ['netns', 'del', ns]);
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}

/** A locally administered unicast MAC derived from the host and link names. */
function stableMac(machine: string, link: string): string {
  const h = createHash('sha256').update(`${machine}/${link}`).digest();
  h[0] = (h[0] & 0xfc) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

// --- the host ------------------------------------------------------------------------------------

export interface Bind {
  host: string;
  container: string;
  readOnly?: boolean;
}

export interface HostOptions {
  /** [a-z][a-z0-9-]{0,11}: namespaces kh-NAME and kh-NAME-out, machine kh-NAME, hostname NAME. */
  name: string;
  /** Veths into the host ([a-z][a-z0-9]{0,11}), recreated at every boot (see the header). */
  links?: string[];
  /** Bind the host's node on /usr/local/bin/node and this checkout on /opt/kairo, read-only
   * (default true); /usr/local/bin/kairo runs it. */
  kairo?: boolean;
  binds?: Bind[];
  /** Bound on boot to running/degraded (default 30 s; measured 0.4–0.9 s). */
  bootTimeoutMs?: number;
}

export interface BootResult {
  /** From spawning systemd-nspawn to `systemctl is-system-running` saying running/degraded. */
  ms: number;
  state: string;
  /** Failed units when degraded. */
  failed: string[];
}

export interface StopResult {
  ms: number;
  /** A clean shutdown did not finish in time (or hard was asked): processes were SIGKILLed. */
  killed: boolean;
}

export class NspawnHost {
  readonly name: string;
  /** The container's network namespace (exists only while it runs). */
  readonly ns: string;
  /** The switch side: one bridge per link; from create() to destroy(). */
  readonly outsideNs: string;
  readonly machine: string;
  readonly stateDir: string;
  readonly consoleLog: string;
  readonly links: string[];
  private readonly opts: HostOptions;
  private nspawnPid = 0;
  private initPid = 0;
  private bootStarted = 0;
  boots = 0;

  private constructor(opts: HostOptions) {
    if (!/^[a-z][a-z0-9-]{0,11}$/.test(opts.name)) throw new Error(`host: name "${opts.name}" must match [a-z][a-z0-9-]{0,11}`);
    for (const l of opts.links ?? []) if (!/^[a-z][a-z0-9]{0,11}$/.test(l)) throw new Error(`host: link "${l}" must match [a-z][a-z0-9]{0,11}`);
    this.opts = opts;
    this.name = opts.name;
    this.ns = `${HOST_PREFIX}${opts.name}`;
    this.outsideNs = `${HOST_PREFIX}${opts.name}-out`;
    this.machine = this.ns;
    this.stateDir = join(HOST_STATE, opts.name);
    this.consoleLog = join(this.stateDir, 'console.log');
    this.links = opts.links ?? [];
  }

  /** A new host with a pristine disk (whatever an earlier host of this name left is removed first). Nothing runs yet. */
  static create(opts: HostOptions): NspawnHost {
    const why = hostRootUnavailable();
    if (why) throw new Error(`host: ${why}`);
    destroyHost(opts.name);
    const h = new NspawnHost(opts);
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(h.stateDir, d), { recursive: true });
    // Its own machine-id (the root's is empty): stable across its boots, different from any other
    // host's (bridge MACs derive from it), and no "first boot".
    mkdirSync(join(h.stateDir, 'upper', 'etc'), { recursive: true });
    writeFileSync(join(h.stateDir, 'upper', 'etc', 'machine-id'), `${createHash('sha256').update(`${h.machine}:${Date.now()}:${Math.random()}`).digest('hex').slice(0, 32)}\n`, { mode: 0o444 });
    writeFileSync(join(h.stateDir, 'upper', 'etc', 'hostname'), `${h.name}\n`);
    writeFileSync(join(h.stateDir, 'host.json'), JSON.stringify({ ...opts, ns: h.ns, outsideNs: h.outsideNs }, null, 2));
    must('ip', ['netns', 'add', h.outsideNs]);
    must('ip', ['-n', h.outsideNs, 'link', 'set', 'lo', 'up']);
    for (const l of h.links) {
      must('ip', ['-n', h.outsideNs, 'link', 'add', l, 'type', 'bridge']);
      must('ip', ['-n', h.outsideNs, 'link', 'set', l, 'up']);
    }
    return h;
  }

  get running(): boolean {
    return alive(this.nspawnPid);
  }

  /** The container's PID 1 as the host sees it. */
  get pid1(): number {
    return this.initPid;
  }

  private nspawnArgs(): string[] {
    const binds: Bind[] = [];
    if (this.opts.kairo !== false) {
      if (existsSync(NODE)) binds.push({ host: NODE, container: '/usr/local/bin/node', readOnly: true });
      binds.push({ host: REPO, container: '/opt/kairo', readOnly: true });
      // node_modules may be a symlink to a shared install: bind its target at the same path.
      const nm = join(REPO, 'node_modules');
      if (existsSync(nm) && lstatSync(nm).isSymbolicLink()) {
        const real = realpathSync(nm);
        binds.push({ host: real, container: real, readOnly: true });
      }
    }
    binds.push(...(this.opts.binds ?? []));
    return [
      '--quiet', '--register=no', '--keep-unit', '--settings=no',
      `--directory=${join(this.stateDir, 'root')}`, `--machine=${this.machine}`, `--hostname=${this.name}`,
      '--boot', '--console=read-only',
      `--network-namespace-path=/run/netns/${this.ns}`, '--capability=CAP_NET_ADMIN',
      '--resolv-conf=off', '--timezone=off', '--link-journal=no',
      ...binds.map((b) => `--bind${b.readOnly ? '-ro' : ''}=${b.host}:${b.container}`),
    ];
  }

  /** Powers on: a new network namespace with the links, systemd-nspawn, then waits for running/degraded. */
  boot(): BootResult {
    if (this.running) throw new Error(`host ${this.name}: already running`);
    this.cleanupAfterStop();
    must('ip', ['netns', 'add', this.ns]);
    for (const l of this.links) {
      // The same MAC at every boot, as a NIC has: neighbours' caches stay right across a reboot.
      must('ip', ['-n', this.outsideNs, 'link', 'add', `${l}-p`, 'type', 'veth', 'peer', 'name', l, 'address', stableMac(this.machine, l), 'netns', this.ns]);
      must('ip', ['-n', this.outsideNs, 'link', 'set', `${l}-p`, 'master', l]);
      must('ip', ['-n', this.outsideNs, 'link', 'set', `${l}-p`, 'up']);
    }
    const cgroups = cgroupDirs(this.name);
    for (const d of cgroups) mkdirSync(d, { recursive: true });
    // nspawn keeps its lock and mount-propagation directories under /run/systemd/nspawn and refuses
    // to remove them from a disk (this /run is not a tmpfs): a tmpfs there, private to this boot.
    mkdirSync('/run/systemd/nspawn', { recursive: true });
    const wrapper = `set -e
state=$1 lower=$2 nspawn=$3; shift 3
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$state/upper,workdir=$state/work" "$state/root"
mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
IFS=:; for d in $KAIRO_CGROUPS; do echo $$ > "$d/cgroup.procs"; done; unset IFS KAIRO_CGROUPS
exec "$nspawn" "$@"
`;
    const fd = openSync(this.consoleLog, 'a');
    writeFileSync(fd, `\n=== kairo host ${this.name}: boot ${this.boots + 1} at ${new Date().toISOString()} ===\n`);
    this.bootStarted = Date.now();
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', wrapper, 'kairo-host', this.stateDir, ROOT, NSPAWN, ...this.nspawnArgs()], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network', KAIRO_CGROUPS: cgroups.join(':') },
    });
    closeSync(fd);
    child.unref();
    this.nspawnPid = child.pid ?? 0;
    this.initPid = 0;
    this.boots++;
    try {
      return this.waitRunning(this.opts.bootTimeoutMs ?? 30_000);
    } catch (e) {
      this.stop({ hard: true });
      throw e;
    }
  }

  /** The container's PID 1: nspawn's child that is PID 1 in its own PID namespace. */
  private findInit(): number {
    for (const tid of readdirSync(`/proc/${this.nspawnPid}/task`)) {
      let children: string[] = [];
      try {
        children = readFileSync(`/proc/${this.nspawnPid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean);
      } catch { continue; }
      for (const c of children) {
        try {
          if (/^NSpid:\t\d+\t1$/m.test(readFileSync(`/proc/${c}/status`, 'utf8'))) return Number(c);
        } catch { /* gone */ }
      }
    }
    return 0;
  }

  /** Waits (bounded) for `systemctl is-system-running` to say running or degraded. */
  waitRunning(timeoutMs = 30_000): BootResult {
    const deadline = Date.now() + timeoutMs;
    let state = 'not started';
    for (;;) {
      if (!this.running) throw new Error(`host ${this.name}: systemd-nspawn exited during boot (state: ${state}):\n${tail(this.consoleLog)}`);
      if (!this.initPid || !alive(this.initPid)) this.initPid = this.findInit();
      if (this.initPid) {
        const r = this.exec('systemctl', ['is-system-running'], { timeoutMs: 5000 });
        state = r.stdout.trim() || (r.stderr.trim().split('\n')[0] ?? '') || state;
        if (state === 'running' || state === 'degraded') {
          const ms = Date.now() - this.bootStarted;
          const failed = state === 'degraded' ? this.exec('systemctl', ['--failed', '--plain', '--no-legend']).stdout.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean) : [];
          return { ms, state, failed };
        }
      }
      if (Date.now() > deadline) {
        const jobs = this.initPid ? this.exec('systemctl', ['list-jobs', '--no-pager']).stdout.trim() : '';
        throw new Error(`host ${this.name}: not running after ${timeoutMs} ms (systemctl is-system-running: ${state})${jobs ? `\njobs:\n${jobs}` : ''}\n--- console ---\n${tail(this.consoleLog)}`);
      }
      sleep(0.05);
    }
  }

  /** CMD ARGS inside the container (all its namespaces, a clean environment), as root. */
  exec(cmd: string, args: string[] = [], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    if (!this.running || !this.initPid) throw new Error(`host ${this.name}: not running`);
    return run('nsenter', ['--target', String(this.initPid), '--all', '--', 'env', '-i', PATH_IN, 'HOME=/root', 'LANG=C.UTF-8', 'TERM=dumb', 'SYSTEMD_COLORS=0', 'SYSTEMD_PAGER=', cmd, ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  /** A shell script inside the container. */
  sh(script: string, opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    return this.exec('sh', ['-c', script], opts);
  }

  /** Like exec, but a non-zero exit throws with the output. */
  must(cmd: string, args: string[] = [], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = this.exec(cmd, args, opts);
    if (r.code !== 0) throw new Error(`host ${this.name}: ${cmd} ${args.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /** The journal inside (`journalctl --no-pager -o short-monotonic ARGS`), e.g. ['-b', '-u', 'kairo-boot']. */
  journal(args: string[] = ['-b']): string {
    return this.exec('journalctl', ['--no-pager', '-o', 'short-monotonic', ...args]).stdout;
  }

  /** Waits (bounded) until networkd inside says each link is configured. */
  waitConfigured(links: string[], timeoutMs = 15_000): { ms: number; sinceBootMs: number } {
    const t0 = Date.now();
    let last = '';
    for (;;) {
      const r = this.exec('networkctl', ['list', '--json=short'], { timeoutMs: 5000 });
      if (r.code === 0) {
        const ifs = (JSON.parse(r.stdout).Interfaces ?? []) as { Name: string; AdministrativeState: string; OperationalState: string }[];
        const of = (l: string) => ifs.find((i) => i.Name === l);
        if (links.every((l) => of(l)?.AdministrativeState === 'configured')) return { ms: Date.now() - t0, sinceBootMs: Date.now() - this.bootStarted };
        last = links.map((l) => `${l}: ${of(l) ? `${of(l)!.AdministrativeState} (${of(l)!.OperationalState})` : 'not listed'}`).join(', ');
      } else last = (r.stderr || r.stdout).trim();
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`host ${this.name}: links not configured after ${timeoutMs} ms: ${last}\n${this.exec('networkctl', ['status', '--no-pager', ...links]).stdout}\n--- journal of systemd-networkd ---\n${this.journal(['-b', '-u', 'systemd-networkd', '-n', '40'])}`);
      }
      sleep(0.05);
    }
  }

  /** Writes a file on the host's disk: inside the running container, or on the stopped disk. */
  writeFile(path: string, content: string, mode = 0o644): void {
    const script = 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"';
    const r = this.running ? this.exec('sh', ['-c', script, 'sh', path, mode.toString(8)], { input: content }) : this.offline('sh', ['-c', script, 'sh', path, mode.toString(8)], content);
    if (r.code !== 0) throw new Error(`host ${this.name}: writing ${path} failed: ${r.stderr.trim()}`);
  }

  /** Reads a file from the host's disk (running or not); undefined when it does not exist. */
  readFile(path: string): string | undefined {
    const r = this.running ? this.exec('cat', [path]) : this.offline('cat', [path]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** CMD ARGS chrooted into the stopped host's disk (its overlay, mounted privately for this command). */
  offline(cmd: string, args: string[] = [], input?: string): RunResult {
    if (this.running) throw new Error(`host ${this.name}: offline() needs the host stopped`);
    const script = `set -e
state=$1 lower=$2; shift 2
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$state/upper,workdir=$state/work" "$state/root"
exec chroot "$state/root" /usr/bin/env -i ${PATH_IN} HOME=/root LANG=C.UTF-8 "$@"`;
    return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'kairo-host', this.stateDir, ROOT, cmd, ...args], { input });
  }

  /** The switch side: `ip ARGS` in the outside namespace (e.g. addresses on a link's bridge). */
  outside(args: string[]): string {
    return must('ip', ['-n', this.outsideNs, ...args]);
  }

  /**
   * Powers off: a clean shutdown (SIGTERM to nspawn, which halts the container), SIGKILL to every
   * process of the host after timeoutMs or at once with hard (a power cut); then the network
   * namespace and the cgroups go. The disk stays.
   */
  stop(opts: { hard?: boolean; timeoutMs?: number } = {}): StopResult {
    const t0 = Date.now();
    let killed = false;
    const cgroups = cgroupDirs(this.name);
    if (this.running) {
      if (opts.hard) killed = true;
      else {
        run('kill', ['-TERM', String(this.nspawnPid)]);
        const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
        while (this.running && Date.now() < deadline) sleep(0.02);
        killed = this.running;
      }
      if (killed) for (const p of [this.nspawnPid, ...cgroupPids(cgroups)]) run('kill', ['-KILL', String(p)]);
    }
    // The container's processes end with nspawn; wait for the last of them (bounded), then kill.
    const deadline = Date.now() + 5000;
    while ((this.running || cgroupPids(cgroups).length > 0) && Date.now() < deadline) sleep(0.02);
    for (const p of cgroupPids(cgroups)) run('kill', ['-KILL', String(p)]);
    this.cleanupAfterStop();
    this.initPid = 0;
    return { ms: Date.now() - t0, killed };
  }

  private cleanupAfterStop(): void {
    const cgroups = cgroupDirs(this.name);
    const deadline = Date.now() + 2000;
    while (cgroupPids(cgroups).length > 0 && Date.now() < deadline) sleep(0.02);
    removeCgroups(cgroups);
    deleteNetns(this.ns);
  }

  /** stop, then boot with the same disk and a new network namespace. */
  powerCycle(opts: { hard?: boolean } = {}): { ms: number; stop: StopResult; boot: BootResult } {
    const t0 = Date.now();
    const stop = this.stop(opts);
    const boot = this.boot();
    return { ms: Date.now() - t0, stop, boot };
  }

  /**
   * `systemctl reboot` inside. systemd-nspawn exits when its container reboots (no machined here to
   * restart it), so this waits for that, then boots again like a power cycle (new namespace).
   */
  reboot(timeoutMs = 20_000): { ms: number; boot: BootResult } {
    const t0 = Date.now();
    this.exec('systemctl', ['reboot'], { timeoutMs: 10_000 });
    while (this.running && Date.now() - t0 < timeoutMs) sleep(0.02);
    if (this.running) throw new Error(`host ${this.name}: still running ${timeoutMs} ms after systemctl reboot\n${tail(this.consoleLog)}`);
    this.stop();
    const boot = this.boot();
    return { ms: Date.now() - t0, boot };
  }

  /** Stops the host (hard) and removes its namespaces, cgroups and disk. */
  destroy(): void {
    if (this.running) this.stop({ hard: true });
    destroyHost(this.name);
  }
}

/** Removes everything of the host NAME (processes, namespaces, cgroups, disk) by name; safe to repeat. */
export function destroyHost(name: string): void {
  const cgroups = cgroupDirs(name);
  for (const p of cgroupPids(cgroups)) run('kill', ['-KILL', String(p)]);
  const deadline = Date.now() + 3000;
  while (cgroupPids(cgroups).length > 0 && Date.now() < deadline) sleep(0.02);
  removeCgroups(cgroups);
  deleteNetns(`${HOST_PREFIX}${name}`);
  deleteNetns(`${HOST_PREFIX}${name}-out`);
  // Only the private mount namespaces ever mounted the overlay: no mount to undo here.
  rmSync(join(HOST_STATE, name), { recursive: true, force: true });
  // The shared parents go once empty (rmdir refuses otherwise).
  for (const d of [...cgroupBases().map((b) => join(b, CGROUP_GROUP)), HOST_STATE]) if (existsSync(d)) run('rmdir', [d]);
}

/** After a crash: every host this helper made (by state directory, cgroup and namespace name). */
export function destroyAllHosts(): string[] {
  const names = new Set<string>();
  if (existsSync(HOST_STATE)) for (const n of readdirSync(HOST_STATE)) names.add(n);
  for (const b of cgroupBases()) if (existsSync(join(b, CGROUP_GROUP))) for (const n of readdirSync(join(b, CGROUP_GROUP), { withFileTypes: true })) if (n.isDirectory()) names.add(n.name);
  for (const l of run('ip', ['netns', 'list']).stdout.split('\n')) {
    const ns = l.split(' ')[0];
    if (ns?.startsWith(HOST_PREFIX)) names.add(ns.slice(HOST_PREFIX.length).replace(/-out$/, ''));
  }
  for (const n of names) destroyHost(n);
  return [...names];
}
