// Targets: the host, a network namespace with its own file root (the lab), a directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../render/artifact.js';
import { run, type RunResult } from '../lib/exec.js';
import { applyNetworkd, hostNetworkctl, networkctlOf, networkdChanged, networkdPidIn } from './networkd.js';
import { readRooted, removeRooted, rooted, writeRooted } from './files.js';
import type { Target } from './types.js';

export type { Target, FileState } from './types.js';

class FileTarget {
  constructor(readonly root: string) {}
  get stateDir() {
    return rooted(this.root, '/var/lib/kairo');
  }
  hostPath(path: string) {
    return rooted(this.root, path);
  }
  readFile(path: string) {
    return readRooted(this.root, path);
  }
  writeFile(path: string, content: string, mode: number) {
    writeRooted(this.root, path, content, mode);
  }
  removeFile(path: string) {
    removeRooted(this.root, path);
  }
}

/** A directory: the rendered tree for review or for another tool to ship. No kernel. */
export class DirTarget extends FileTarget implements Target {
  readonly kind = 'dir' as const;
  constructor(root: string) {
    super(root);
  }
  get spec() {
    return `dir:${this.root}`;
  }
}

/** A network namespace with a file root of its own: how the lab stands in for a host. */
export class NetnsTarget extends FileTarget implements Target {
  readonly kind = 'netns' as const;
  constructor(
    readonly netns: string,
    root: string,
  ) {
    super(root);
  }
  get spec() {
    return `netns:${this.netns}:${this.root}`;
  }
  exec(cmd: string, args: string[], input?: string): RunResult {
    return run(cmd, args, { netns: this.netns, input, timeoutMs: 120_000 });
  }
  /**
   * As on a host: networkctl reload of the systemd-networkd running in the namespace (the lab runs
   * Debian's own, one per router). Then waits until every link the files manage is configured:
   * in a lab every link has its peer, so anything else (a typo'd device, a lease that never
   * comes) is a failure for apply to revert, not a state to leave.
   */
  applyNetwork(after: Artifact[], before: Artifact[]): void {
    if (!networkdChanged(before, after)) return;
    const pid = networkdPidIn(this.netns);
    if (!pid) throw new Error(`systemd-networkd is not running in ${this.netns}: the network files were written but cannot be applied`);
    applyNetworkd(networkctlOf(pid), after, before, { timeoutMs: 15_000, missingMs: 2000, alive: () => existsSync(`/proc/${pid}`) });
  }
}

/** This machine. Network changes go through systemd-networkd, units through systemd, when they run. */
export class HostTarget extends FileTarget implements Target {
  readonly kind = 'host' as const;
  readonly spec = 'host';
  readonly systemctl?: (args: string[]) => RunResult;
  constructor() {
    super('/');
    // sd_booted(): the directory exists only when systemd is PID 1.
    if (existsSync('/run/systemd/system')) this.systemctl = (args) => run('systemctl', args, { timeoutMs: 300_000 });
  }
  exec(cmd: string, args: string[], input?: string): RunResult {
    return run(cmd, args, { input, timeoutMs: 120_000 });
  }
  applyNetwork(after: Artifact[], before: Artifact[]): void {
    applyNetworkd(hostNetworkctl, after, before);
  }
}

/** `host`, `dir:PATH`, `netns:NAME:ROOT`. */
export function parseTargetSpec(spec: string): Target | string {
  if (spec === 'host') return new HostTarget();
  if (spec.startsWith('dir:') && spec.length > 4) return new DirTarget(spec.slice(4));
  const m = /^netns:([^:]+):(.+)$/.exec(spec);
  if (m) return new NetnsTarget(m[1], m[2]);
  return `unknown target '${spec}': use host, dir:PATH, netns:NAME:ROOT or lab:NODE (with a site file)`;
}

export function labTarget(prefixDir: string, ns: string, node: string): NetnsTarget {
  return new NetnsTarget(ns, join(prefixDir, node));
}
