// Running a daemon's command on rendered files that are not (yet) where the daemon looks for
// them: in a private mount namespace, the rendered tree is laid over /etc and /usr (overlayfs,
// read-only, the system's own files underneath), so the command sees exactly the paths it will
// see on the node. Apply uses it to run each daemon's own checker before anything changes; the
// lab to run the daemons of a router namespace. Builds argv only; callers run it.

export interface SandboxOptions {
  /** The rendered tree: ROOT/etc/... and ROOT/usr/... as on the node. */
  root: string;
  /** Devices that must exist (in a fresh network namespace, as veth pairs): a checker may look them up. */
  devices?: string[];
  /** A fresh /run (tmpfs) with these directories (the unit's RuntimeDirectory=). */
  runtimeDirs?: string[];
  /** Only these directories of /run made private (tmpfs each), the rest of /run as it is. */
  privateRunDirs?: string[];
  /** /var/lib made writable into this directory (upper layer), with these directories made. */
  varLib?: { upper: string; dirs: string[] };
  /** Directories bound in after the mounts above ([source, target]): a socket directory two sandboxes share. */
  binds?: [string, string][];
  /** Environment assignments (KEY=VALUE) for the command. */
  env?: string[];
  /**
   * A tree laid under the rendered one (ROOT/etc, ROOT/usr): system files the lab stands in for
   * (its root servers' hints, its CA). Never a rendered path: those stay on top.
   */
  standIns?: string;
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** `sh -c` text that sets the mounts up and then execs "$@" (or runs `script` when given). */
export function sandboxScript(o: SandboxOptions, script = 'exec "$@"'): string {
  const lines = ['set -e'];
  if (o.devices?.length) {
    lines.push('ip link set lo up');
    o.devices.forEach((d, i) => lines.push(`ip link add ${q(d)} type veth peer name kc${i}`));
  }
  for (const dir of ['etc', 'usr']) {
    if (o.standIns) {
      // Each layer only when it exists (overlayfs refuses a missing lower directory).
      lines.push(`l=; for d in ${q(`${o.root}/${dir}`)} ${q(`${o.standIns}/${dir}`)}; do if [ -d "$d" ]; then l="$l$d:"; fi; done`);
      lines.push(`if [ -n "$l" ]; then mount -t overlay kairo-${dir} -o "lowerdir=$l/${dir}" /${dir}; fi`);
    } else {
      lines.push(`if [ -d ${q(`${o.root}/${dir}`)} ]; then mount -t overlay kairo-${dir} -o ${q(`lowerdir=${o.root}/${dir}:/${dir}`)} /${dir}; fi`);
    }
  }
  if (o.varLib) {
    // Before a fresh /run hides the real one: the upper layer (the lab's state directory, under
    // /run) must be the real directory, so what the daemon writes stays readable from outside.
    lines.push(`mkdir -p ${q(`${o.varLib.upper}/upper`)} ${q(`${o.varLib.upper}/work`)}`);
    lines.push(`mount -t overlay kairo-var -o ${q(`lowerdir=/var/lib,upperdir=${o.varLib.upper}/upper,workdir=${o.varLib.upper}/work`)} /var/lib`);
    for (const d of o.varLib.dirs) lines.push(`mkdir -p ${q(`/var/lib/${d}`)}`);
  }
  const runBinds = (o.binds ?? []).filter(([, dst]) => dst.startsWith('/run/'));
  if (o.runtimeDirs) {
    // The fresh /run is made aside (on /mnt, in this mount namespace only) and moved over /run
    // last: what is bound into it may itself live under the old /run.
    lines.push('mount -t tmpfs -o mode=0755 kairo-run /mnt');
    for (const d of o.runtimeDirs) lines.push(`mkdir -p ${q(`/mnt/${d}`)}`);
    for (const [src, dst] of runBinds) lines.push(`mkdir -p ${q(`/mnt/${dst.slice(5)}`)}`, `mount --bind ${q(src)} ${q(`/mnt/${dst.slice(5)}`)}`);
    lines.push('mount -n --move /mnt /run');
  }
  for (const d of o.privateRunDirs ?? []) lines.push(`mkdir -p ${q(`/run/${d}`)}`, `mount -t tmpfs -o mode=0755 kairo-run ${q(`/run/${d}`)}`);
  for (const [src, dst] of (o.binds ?? []).filter((b) => !o.runtimeDirs || !runBinds.includes(b))) lines.push(`mkdir -p ${q(dst)}`, `mount --bind ${q(src)} ${q(dst)}`);
  for (const e of o.env ?? []) lines.push(`export ${q(e)}`);
  lines.push(script);
  return lines.join('\n');
}

/** argv running `argv` in the sandbox (a fresh network namespace when devices are asked for). */
export function sandboxArgv(o: SandboxOptions, argv: string[]): string[] {
  return ['unshare', '--mount', '--propagation', 'private', ...(o.devices?.length ? ['--net'] : []), 'sh', '-c', sandboxScript(o), 'kairo-sandbox', ...argv];
}

/** What a unit file says about running its daemon: the ExecStartPre/ExecStart lines and its directories. */
export interface UnitExec {
  pre: string[];
  start: string;
  env: string[];
  runtimeDirs: string[];
  stateDirs: string[];
}

/** systemd's escapes back to the text a shell should see: `$$` is `$`, `%%` is `%`. */
const unescape = (s: string) => s.replaceAll('$$', '$').replaceAll('%%', '%');

export function unitExec(unitText: string): UnitExec | undefined {
  const values = (key: string) => unitText.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());
  const start = values('ExecStart')[0];
  if (!start) return undefined;
  // Environment=A=1 B=2 (no quoted spaces in kairo's units).
  const env = values('Environment').flatMap((v) => v.split(/\s+/).filter(Boolean));
  const dirs = (k: string) => values(k).flatMap((v) => v.split(/\s+/).filter(Boolean));
  return { pre: values('ExecStartPre').map((l) => unescape(l.replace(/^[-@:+!]+/, ''))), start: unescape(start.replace(/^[-@:+!]+/, '')), env, runtimeDirs: dirs('RuntimeDirectory'), stateDirs: dirs('StateDirectory') };
}
