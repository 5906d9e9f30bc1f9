// Applying networkd files the way a host does, on any target that runs systemd-networkd (the host,
// or a lab namespace running Debian's networkd): `networkctl reload`, plus what reload leaves
// undone. networkd never deletes or rebuilds a netdev on reload ("even if an existing .netdev is
// modified or removed, systemd-networkd does not update or remove the netdev", networkctl(1)), so
// a bridge the site dropped would stay, down and unmanaged: kairo deletes it with
// `networkctl delete` (and a changed one too, so the reload builds it again from its new file).
import type { Artifact } from '../render/artifact.js';
import { readlinkSync } from 'node:fs';
import { run, type RunResult } from '../lib/exec.js';
import { parseIni } from './networkd-interpreter.js';

export const NETWORKD_BIN = '/lib/systemd/systemd-networkd';
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_COLORS: '0' };

/** networkctl on this machine (a host whose networkd is a systemd service). */
export const hostNetworkctl: Networkctl = (args, timeoutMs = 10_000) => run('networkctl', ['--no-pager', ...args], { timeoutMs, env: ENV });

/** networkctl against the networkd running as process `pid`: in its network and mount namespaces (its /run, its D-Bus). */
export function networkctlOf(pid: number): Networkctl {
  return (args, timeoutMs = 10_000) => run('nsenter', ['--target', String(pid), '--mount', '--net', 'networkctl', '--no-pager', ...args], { timeoutMs, env: ENV });
}

/** The PID of the systemd-networkd running in a named network namespace (the lab starts one per router), if any. */
export function networkdPidIn(netns: string): number | undefined {
  for (const pid of run('ip', ['netns', 'pids', netns]).stdout.split(/\s+/).filter(Boolean)) {
    try {
      if ([NETWORKD_BIN, `/usr${NETWORKD_BIN}`].includes(readlinkSync(`/proc/${pid}/exe`))) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Runs `networkctl ARGS` against the networkd of one target. */
export type Networkctl = (args: string[], timeoutMs?: number) => RunResult;

export interface LinkState {
  index: number;
  name: string;
  type: string;
  /** off, no-carrier, dormant, degraded-carrier, carrier, degraded, enslaved, routable */
  operational: string;
  /** pending, initialized, configuring, configured, unmanaged, failed, linger */
  setup: string;
}

const field = (text: string, section: string, key: string) => parseIni(text).find((s) => s.name === section)?.entries.find(([k]) => k === key)?.[1];
const networkdFiles = (files: readonly Artifact[]) => files.filter((a) => a.reload === 'networkd');

/** Netdev name per .netdev path. */
function netdevs(files: readonly Artifact[]): Map<string, { name: string; content: string }> {
  const out = new Map<string, { name: string; content: string }>();
  for (const a of networkdFiles(files).filter((x) => x.path.endsWith('.netdev'))) {
    const name = field(a.content, 'NetDev', 'Name');
    if (name) out.set(a.path, { name, content: a.content });
  }
  return out;
}

/** Netdevs whose .netdev file is gone or changed between two generations: networkd keeps them as they are. */
export function staleNetdevs(before: readonly Artifact[], after: readonly Artifact[]): string[] {
  const now = netdevs(after);
  return [...netdevs(before)].filter(([path, d]) => now.get(path)?.content !== d.content).map(([, d]) => d.name);
}

/** The links the .network files match by name ([Match] Name=, one name each as kairo writes them). */
export function managedLinks(files: readonly Artifact[]): string[] {
  return networkdFiles(files).filter((a) => a.path.endsWith('.network')).map((a) => field(a.content, 'Match', 'Name')).filter((n): n is string => Boolean(n));
}

export function networkdChanged(before: readonly Artifact[], after: readonly Artifact[]): boolean {
  const a = networkdFiles(before);
  const b = networkdFiles(after);
  return a.length !== b.length || b.some((x) => !a.some((y) => y.path === x.path && y.content === x.content));
}

/** Every link as networkd sees it (`networkctl list --json=short`). */
export function linkStates(ctl: Networkctl): LinkState[] {
  const r = ctl(['list', '--json=short']);
  if (r.code !== 0) throw new Error(`networkctl list failed: ${(r.stderr || r.stdout).trim()}`);
  const j = JSON.parse(r.stdout) as { Interfaces?: { Index: number; Name: string; Type: string; OperationalState: string; AdministrativeState: string }[] };
  return (j.Interfaces ?? []).map((i) => ({ index: i.Index, name: i.Name, type: i.Type, operational: i.OperationalState, setup: i.AdministrativeState }));
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Setup states that count as there (default: configured). */
  states?: string[];
  /** A link still not there after this long fails the wait at once (the files name a device the machine lacks). */
  missingMs?: number;
  /** False when networkd is gone: ends the wait at once. */
  alive?: () => boolean;
  /** networkd's own words, for the error. */
  log?: () => string;
}

/**
 * Waits (bounded) until each named link is in one of `states` (default: configured). A link
 * networkd marks "failed", or networkd exiting, ends the wait at once. The error names each link's
 * state, the `networkctl status` of those not there, and networkd's log when given.
 */
export function waitLinks(ctl: Networkctl, links: string[], opts: WaitOptions = {}): { ms: number; links: LinkState[] } {
  const want = opts.states ?? ['configured'];
  const limit = opts.timeoutMs ?? 10_000;
  const t0 = Date.now();
  for (;;) {
    let states: LinkState[] = [];
    let err = '';
    try {
      states = linkStates(ctl);
    } catch (e) {
      err = (e as Error).message;
    }
    const of = (l: string) => states.find((s) => s.name === l);
    if (!err && links.every((l) => want.includes(of(l)?.setup ?? ''))) return { ms: Date.now() - t0, links: states };
    const failed = links.filter((l) => of(l)?.setup === 'failed' && !want.includes('failed'));
    const dead = opts.alive && !opts.alive();
    const missing = !err && opts.missingMs !== undefined && Date.now() - t0 > opts.missingMs ? links.filter((l) => !of(l)) : [];
    if (failed.length > 0 || dead || missing.length > 0 || Date.now() - t0 > limit) {
      const why = failed.length > 0 ? `networkd failed ${failed.join(', ')}` : dead ? 'systemd-networkd exited' : missing.length > 0 ? `no link ${missing.join(', ')} after ${opts.missingMs} ms` : `timed out after ${limit} ms`;
      const table = links.map((l) => `${l}: ${of(l) ? `${of(l)!.setup} (${of(l)!.operational})` : 'not listed (no such link)'}`).join(', ');
      const hint = links.some((l) => of(l)?.setup === 'configuring')
        ? '\nhint: "configuring" that never ends is usually networkd waiting for a router advertisement (IPv6AcceptRA=yes), a DHCP lease or a carrier'
        : links.some((l) => of(l)?.setup === 'unmanaged') ? '\nhint: "unmanaged": no .network file matched the link (check [Match] Name=)' : '';
      const status = dead ? '' : links.filter((l) => of(l) && !want.includes(of(l)!.setup)).map((l) => ctl(['status', l]).stdout.trim()).join('\n');
      throw new Error(`waiting for ${want.join('|')}: ${why}; ${table}${err ? `; ${err}` : ''}${hint}${status ? `\n${status}` : ''}${opts.log ? `\n--- systemd-networkd log ---\n${opts.log()}` : ''}`);
    }
    sleepMs(10);
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(pause, 0, 0, ms);

/**
 * Takes networkd from the `before` files (already replaced on disk by `after`) to the `after`
 * ones: deletes the netdevs reload would leave stale, then `networkctl reload`. With `wait`, then
 * waits until every link the files manage is configured (a lab, where every link has its peer).
 */
export function applyNetworkd(ctl: Networkctl, after: readonly Artifact[], before: readonly Artifact[], wait?: WaitOptions): void {
  if (!networkdChanged(before, after)) return;
  if (ctl(['list', '--no-legend']).code !== 0) throw new Error('systemd-networkd is not running: the network files were written but cannot be applied');
  for (const dev of staleNetdevs(before, after)) {
    const r = ctl(['delete', dev]);
    // Already gone is fine: the goal is that it is not there.
    if (r.code !== 0 && !/No such device|not found/i.test(r.stderr)) throw new Error(`networkctl delete ${dev}: ${r.stderr.trim()}`);
  }
  const r = ctl(['reload']);
  if (r.code !== 0) throw new Error(`networkctl reload: ${(r.stderr || r.stdout).trim()}`);
  if (wait) waitLinks(ctl, managedLinks(after), wait);
}
