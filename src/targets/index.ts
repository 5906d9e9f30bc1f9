// Targets: the host, a network namespace with its own file root (the lab), a directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../render/artifact.js';
import { run, type RunResult } from '../lib/exec.js';
import { networkdDiff } from './networkd-interpreter.js';
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
  /** No networkd in a namespace: the lab's interpreter turns the file difference into ip commands. */
  applyNetwork(after: Artifact[], before: Artifact[]): void {
    // One `ip -batch` for the deletions (which may find nothing to delete: -force goes on) and one
    // for the rest (which stops at, and reports, the first failure).
    const cmds = networkdDiff(before, after);
    const dels = cmds.filter((c) => c[0] === '-').map((c) => c.slice(1).join(' '));
    const rest = cmds.filter((c) => c[0] !== '-').map((c) => c.join(' '));
    if (dels.length) this.exec('ip', ['-force', '-batch', '-'], dels.join('\n') + '\n');
    if (rest.length) {
      const r = this.exec('ip', ['-batch', '-'], rest.join('\n') + '\n');
      if (r.code !== 0) throw new Error(`ip: ${r.stderr.trim()}`);
    }
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
    const changed = after.filter((a) => a.reload === 'networkd' && !before.some((b) => b.path === a.path && b.content === a.content));
    const removed = before.filter((b) => b.reload === 'networkd' && !after.some((a) => a.path === b.path));
    if (changed.length + removed.length === 0) return;
    if (run('networkctl', ['--no-pager', 'list']).code !== 0) throw new Error('systemd-networkd is not running: the network files were written but cannot be applied');
    const r = run('networkctl', ['reload']);
    if (r.code !== 0) throw new Error(`networkctl reload: ${r.stderr.trim()}`);
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
