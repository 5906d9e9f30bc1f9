// A target is where artifacts go: this host, a lab namespace with its own file root, or a plain
// directory. One interface, so plan/apply/rollback are written once.
import type { Artifact } from '../render/artifact.js';
import type { RunResult } from '../lib/exec.js';

export interface FileState {
  content: string;
  mode: number;
}

export interface Target {
  readonly kind: 'host' | 'netns' | 'dir';
  /** How to name it again on the command line (`host`, `dir:/srv/out`, `netns:NAME:ROOT`). */
  readonly spec: string;
  /** The file root: `/` for the host. */
  readonly root: string;
  /** Generations, lock, journal: `<root>/var/lib/kairo`. */
  readonly stateDir: string;
  /** Path on this machine for a path on the target. */
  hostPath(path: string): string;
  readFile(path: string): FileState | undefined;
  /** Atomic: a temporary file renamed over the old one. */
  writeFile(path: string, content: string, mode: number): void;
  removeFile(path: string): void;
  /** Runs a command in the target's network namespace; a directory has none. */
  exec?(cmd: string, args: string[], input?: string): RunResult;
  /**
   * Runs `systemctl ARGS` on a target whose service manager is systemd: the host when systemd is
   * PID 1. Absent elsewhere (a lab namespace, a directory, a container without systemd): unit
   * files are then written and nothing is enabled or started.
   */
  systemctl?(args: string[]): RunResult;
  /** Brings interfaces from the `before` networkd files to the `after` ones. */
  applyNetwork?(after: Artifact[], before: Artifact[]): void;
}
