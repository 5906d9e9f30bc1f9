// Debian's real systemd-networkd inside a lab namespace (no systemd as PID 1 needed): the very
// daemon a host runs, on a directory of rendered .network/.netdev files. The lab runs one in every
// router namespace (run.ts); apply reaches it with networkctl (src/targets/networkd.ts). What it
// takes, measured on Debian 12 (systemd 252):
//   - a private mount namespace (`ip netns exec NS unshare -m`) in which the directory is bound
//     read-only on /etc/systemd/network and a tmpfs covers /run;
//   - /sys mounted read-only: networkd takes a writable /sys to mean "udev is running" and then
//     leaves every link "pending" until udev initializes it, which never happens here;
//   - /run/systemd exists but /run/systemd/netif does not: networkd creates it owned by
//     systemd-network and refuses one that root made ("owned by 0:0 … refusing");
//   - a private `dbus-daemon --system` on that /run, started first: networkd configures links
//     without D-Bus, but `networkctl` (even `list`) asks it over the bus;
//   - optionally a machine-id of its own bound on /etc/machine-id: bridge MACs and the DHCP
//     client's DUID come from it, and two routers of one lab must not share them.
// The processes are found again by PID (networkd's, recorded at start; D-Bus's from its pid file)
// and checked against the mount namespace they were started in, so a reused PID is never killed.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { have, run, type RunResult } from '../lib/exec.js';
import { linkStates as targetLinkStates, waitLinks as targetWaitLinks, type LinkState, type Networkctl, NETWORKD_BIN, networkctlOf } from '../targets/networkd.js';
export { NETWORKD_BIN };

const NETWORK_DIR = '/etc/systemd/network';
/** Debian's own .network files (80-container-*, 80-6rd-tunnel, 80-vm-vt), hidden unless asked for. */
const VENDOR_DIRS = ['/usr/lib/systemd/network', '/usr/local/lib/systemd/network'];

export interface NetworkdOptions {
  /** An existing network namespace (`ip netns add`). */
  ns: string;
  /** Directory of .network/.netdev files, bound read-only on /etc/systemd/network. Edit the files
   * in place and call reloadNetworkd; do not replace the directory itself (the bind keeps the old one). */
  configDir: string;
  /** networkd's and dbus-daemon's output (networkd logs to stderr without journald). */
  logFile: string;
  /** SYSTEMD_LOG_LEVEL=debug. */
  debug?: boolean;
  /** Keep Debian's vendor .network files visible, as on a real host (default: hidden, so only the
   * given directory decides; they match names like ve-*, vb-*, host0). */
  vendorFiles?: boolean;
  /** /etc/machine-id as networkd sees it (32 hex digits). networkd derives bridge MACs and the
   * DHCP client's DUID from it: two lab routers sharing the machine's id would share those too. */
  machineId?: string;
  /** Bound on networkd and D-Bus answering `networkctl list` (default 5000 ms). */
  readyTimeoutMs?: number;
}

export interface RealNetworkd {
  ns: string;
  configDir: string;
  logFile: string;
  /** systemd-networkd's PID (it is the process spawned: ip netns exec, unshare and sh all exec). */
  pid: number;
  /** The private dbus-daemon's PID. */
  dbusPid: number;
  /** The mount namespace both run in (`mnt:[inode]`), to recognize them by PID later. */
  mountNs: string;
  /** Date.now() when the process was spawned. */
  startedAt: number;
  /** Milliseconds from spawn to `networkctl list` answering. */
  readyMs: number;
}

export type { LinkState } from '../targets/networkd.js';

/** Why real networkd cannot run here, or false. */
export function networkdUnavailable(): string | false {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'real systemd-networkd in a namespace needs root';
  if (!existsSync(NETWORKD_BIN)) return `${NETWORKD_BIN} is missing (Debian package systemd)`;
  for (const cmd of ['dbus-daemon', 'networkctl', 'unshare', 'nsenter', 'ip']) if (!have(cmd)) return `${cmd} is not installed`;
  if (!existsSync(NETWORK_DIR)) return `${NETWORK_DIR} does not exist on this machine (it is the mount point)`;
  return false;
}

// Runs as the namespace's process: mounts, D-Bus, then exec networkd (same PID as spawned).
// The directory is bound before /run is covered: it may itself live under /run (the lab's state).
const INNER = `set -e
dir=$1; vendor=$2; mid=$3
mount --bind "$dir" ${NETWORK_DIR}
mount -o remount,bind,ro ${NETWORK_DIR}
if [ "$vendor" != 1 ]; then
  for d in ${VENDOR_DIRS.join(' ')}; do [ -d "$d" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$d"; done
fi
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/dbus /run/systemd
if [ -n "$mid" ]; then echo "$mid" > /run/machine-id; mount --bind /run/machine-id /etc/machine-id; fi
mount -o remount,bind,ro /sys   # per mount point: the sysfs ip netns exec mounted stays rw elsewhere
dbus-daemon --system --fork
exec ${NETWORKD_BIN}
`;

const sleep = (s: number) => run('sleep', [String(s)]);

function mountNsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Alive, not a zombie, and still in the given mount namespace (so not a reused PID). */
function alive(pid: number, mountNs?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) [ZX]/s.test(stat)) return false;
  } catch {
    return false;
  }
  return mountNs === undefined || mountNsOf(pid) === mountNs;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts systemd-networkd (and its private D-Bus) in `opts.ns` on `opts.configDir`, and waits
 * (bounded) until `networkctl list` answers. Throws with networkd's log when it does not.
 */
export function startNetworkd(opts: NetworkdOptions): RealNetworkd {
  const why = networkdUnavailable();
  if (why) throw new Error(`networkd-real: ${why}`);
  const configDir = resolve(opts.configDir);
  if (!statSync(configDir).isDirectory()) throw new Error(`networkd-real: ${configDir} is not a directory`);
  // networkd drops to the systemd-network user before it reads its files: a 0700 directory (mkdtemp)
  // or a 0600 file would leave every link "unmanaged" without a word in its log.
  const unreadable = [configDir, ...readdirSync(configDir).filter((f) => /\.(network|netdev|link)$/.test(f)).map((f) => join(configDir, f))]
    .filter((p) => (statSync(p).mode & (statSync(p).isDirectory() ? 0o005 : 0o004)) !== (statSync(p).isDirectory() ? 0o005 : 0o004));
  if (unreadable.length > 0) throw new Error(`networkd-real: networkd reads its files as the systemd-network user; not readable by others: ${unreadable.join(', ')}`);
  if (run('ip', ['netns', 'exec', opts.ns, 'true']).code !== 0) throw new Error(`networkd-real: no network namespace ${opts.ns}`);
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_LOG_TIME: '1', ...(opts.debug ? { SYSTEMD_LOG_LEVEL: 'debug' } : {}) };
  const startedAt = Date.now();
  const child = spawn('ip', ['netns', 'exec', opts.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', INNER, 'kairo-networkd', configDir, opts.vendorFiles ? '1' : '0', opts.machineId ?? ''], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env,
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('networkd-real: could not spawn ip netns exec');

  // networkd is up (its PID runs the networkd binary) and D-Bus answers for it.
  const nd: RealNetworkd = { ns: opts.ns, configDir, logFile: opts.logFile, pid, dbusPid: 0, mountNs: '', startedAt, readyMs: 0 };
  const deadline = startedAt + (opts.readyTimeoutMs ?? 5000);
  let last = '';
  for (;;) {
    if (!alive(pid)) throw new Error(`networkd-real: systemd-networkd in ${opts.ns} exited at start:\n${tail(opts.logFile)}`);
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch { /* gone or not yet */ }
    if (exe === NETWORKD_BIN || exe === `/usr${NETWORKD_BIN}`) {
      nd.mountNs = mountNsOf(pid) ?? '';
      if (!nd.dbusPid) {
        try {
          nd.dbusPid = Number(readFileSync(`/proc/${pid}/root/run/dbus/pid`, 'utf8').trim()) || 0;
        } catch { /* not yet */ }
      }
      const r = networkctl(nd, ['list', '--no-legend'], 2000);
      if (r.code === 0 && nd.dbusPid) break;
      last = (r.stderr || r.stdout).trim();
    }
    if (Date.now() > deadline) {
      stopNetworkd(nd);
      throw new Error(`networkd-real: systemd-networkd in ${opts.ns} did not answer within ${opts.readyTimeoutMs ?? 5000} ms (networkctl: ${last || 'not reached'}):\n${tail(opts.logFile)}`);
    }
    sleep(0.01);
  }
  nd.readyMs = Date.now() - startedAt;
  return nd;
}

/** `networkctl ARGS` in networkd's namespaces (network and mount: its /run, its D-Bus). */
export function networkctl(nd: RealNetworkd, args: string[], timeoutMs = 10_000): RunResult {
  return networkctlOf(nd.pid)(args, timeoutMs);
}

/** `networkctl reload`: networkd rereads the directory and reconfigures what changed. */
export function reloadNetworkd(nd: RealNetworkd): void {
  const r = networkctl(nd, ['reload']);
  if (r.code !== 0) throw new Error(`networkd-real: networkctl reload in ${nd.ns} failed: ${(r.stderr || r.stdout).trim()}\n${tail(nd.logFile)}`);
}

/** Every link as networkd sees it (`networkctl list --json=short`). */
export function linkStates(nd: RealNetworkd): LinkState[] {
  return targetLinkStates(ctlOf(nd));
}

/** networkctl for this networkd, as the targets module takes it. */
export function ctlOf(nd: RealNetworkd): Networkctl {
  return (args, timeoutMs) => networkctl(nd, args, timeoutMs);
}

/** networkd's output so far (the last `lines` lines). */
export function networkdLog(nd: RealNetworkd, lines = 60): string {
  return tail(nd.logFile, lines);
}

export interface WaitResult {
  /** Milliseconds this wait took. */
  ms: number;
  /** Milliseconds since networkd was started. */
  sinceStartMs: number;
  links: LinkState[];
}

/**
 * Waits (bounded) until each named link is in one of `states` (default: configured); see
 * waitLinks in src/targets/networkd.ts. The error ends with networkd's log.
 */
export function waitLinks(nd: RealNetworkd, links: string[], opts: { timeoutMs?: number; states?: string[] } = {}): WaitResult {
  const r = targetWaitLinks(ctlOf(nd), links, { ...opts, alive: () => alive(nd.pid, nd.mountNs), log: () => tail(nd.logFile) });
  return { ms: r.ms, sinceStartMs: Date.now() - nd.startedAt, links: r.links };
}

/** Stops networkd (SIGTERM, SIGKILL after the bound) and its D-Bus, by PID. Safe to call twice. */
export function stopNetworkd(nd: RealNetworkd, timeoutMs = 3000): void {
  const pids = [nd.pid, nd.dbusPid].filter((p) => p > 0 && alive(p, nd.mountNs || undefined));
  for (const p of pids) run('kill', ['-TERM', String(p)]);
  const deadline = Date.now() + timeoutMs;
  while (pids.some((p) => alive(p, nd.mountNs || undefined)) && Date.now() < deadline) sleep(0.02);
  for (const p of pids.filter((x) => alive(x, nd.mountNs || undefined))) run('kill', ['-KILL', String(p)]);
}

/** waitLinks for the usual case: each named link "configured", bounded. */
export function waitConfigured(nd: RealNetworkd, links: string[], timeoutMs = 10_000): WaitResult {
  return waitLinks(nd, links, { timeoutMs });
}
