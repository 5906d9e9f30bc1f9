// The lab's second kind of node: a full-kernel guest. Debian's stock kernel booted under QEMU
// software emulation (TCG; KVM here is a software PVM that fails on a stock kernel), for checks
// that need kernel features the host lacks (ip6tnl/ipip6 for DS-Lite, PPP/PPPoE, 802.1q,
// wireguard). Boot files come from scripts/guest-kernel.sh; guests are joined point to point by
// QEMU `-netdev dgram` unix sockets, so the host network is never touched.
//
// Inside a guest, /init (see the script) brings the NICs up under the names given here, runs the
// spec's script as /test.sh and powers off. Results travel over the serial console as lines:
// `KAIRO-RESULT key=value` from scripts, `KAIRO-GUEST-*` from /init.
//
// A systemd guest (GuestSpec.systemd) is the other kind: Debian booted from the disk image of
// scripts/guest-image.sh with systemd as PID 1 and kairo installed as a user installs it. Its disk
// is opened with snapshot=on (never written; the changes live as long as QEMU) and it reboots for
// real (`systemctl reboot` resets the machine, QEMU keeps running, the disk keeps its changes).
// Its files come on a second disk (a tar the guest unpacks at its first boot, before udev names
// the NICs by the .link files made here); its agent runs `script`, reboots, runs `afterReboot`,
// and powers off.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { have } from '../lib/exec.js';

export const GUEST_CACHE = process.env.KAIRO_GUEST_CACHE || '/var/cache/kairo-guest';
export const GUEST_BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'guest-kernel.sh');
export const SYSTEM_CACHE = process.env.KAIRO_SYSTEM_CACHE || '/var/cache/kairo-system';
export const SYSTEM_BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'guest-image.sh');
const QEMU = 'qemu-system-x86_64';

export interface GuestNic {
  /** Interface name inside the guest (at most 15 characters). */
  id: string;
  /** Link name: the two NICs (of any guests) naming the same link are wired together. */
  link: string;
  /** Its MAC address (default: 02:6b:61:00:GUEST:NIC), e.g. to know a SLAAC address beforehand. */
  mac?: string;
}

export interface SystemdGuest {
  /** Shell run by the agent after the reboot (the first boot runs `script`, then `systemctl reboot`). */
  afterReboot: string;
  /** Memory in MB (default 1024). */
  memoryMb?: number;
}

export interface GuestSpec {
  name: string;
  /** Shell run as /test.sh inside the guest (busybox sh, plus ip, nft, pppd, pppoe*, wg, kmod). */
  script: string;
  nics: GuestNic[];
  /**
   * Extra files placed in the guest by absolute path, e.g. /etc/kairo/nftables.nft. Mode 0755 when
   * the content starts with `#!`, else 0644, unless given ({ content, mode: 0o600 } for secrets).
   */
  files?: Record<string, string | { content: string; mode: number }>;
  /**
   * A guest that serves others (an AFTR, an access concentrator): after its script it keeps
   * running until every guest without `serve` has finished, then runs `after` and powers off.
   */
  serve?: boolean;
  /** Shell run as /after.sh on a serving guest once the others are done (e.g. to report counters). */
  after?: string;
  /** Modules loaded at boot besides the NIC drivers (everything else loads on first use). */
  modules?: string[];
  /**
   * Boot the systemd guest (scripts/guest-image.sh) instead of the busybox initramfs: `script` runs
   * as root once the first boot reached multi-user.target, then the guest reboots and runs
   * `afterReboot`. `files` are unpacked at the first boot before udev; `modules`, `serve` and
   * `after` do not apply (udev and the kernel load modules).
   */
  systemd?: SystemdGuest;
}

export interface GuestResult {
  name: string;
  /** The script (and `after`) exited 0 and the guest powered off within the timeout. */
  ok: boolean;
  /** Serial console, \r removed. */
  output: string;
  /** `KAIRO-RESULT key=value` lines printed by the scripts (a later line wins). */
  markers: Record<string, string>;
  /** Wall time from starting QEMU to its exit. */
  ms: number;
  /** Wall time from starting QEMU to /init (undefined when it never got there). */
  bootMs?: number;
  /** Exit status of /test.sh, and of /after.sh for serving guests (undefined when not reached). */
  scriptRc?: number;
  afterRc?: number;
  timedOut: boolean;
  /**
   * Systemd guests: each boot's agent start (`KAIRO-GUEST-BOOT n=N uptime=S`): wall time since
   * QEMU started, and the guest's uptime then (the kernel's and systemd's part of the boot).
   */
  boots: { n: number; ms: number; uptime: number }[];
  /** Systemd guests: wall time from the agent's `systemctl reboot` to the agent of the next boot. */
  rebootMs?: number;
}

export type Availability = { ok: true } | { ok: false; reason: string };

export function guestFiles(cache = GUEST_CACHE): { vmlinux: string; initrd: string } {
  return { vmlinux: join(cache, 'vmlinux'), initrd: join(cache, 'base.cpio') };
}

export function systemFiles(cache = SYSTEM_CACHE): { vmlinux: string; initrd: string; disk: string } {
  return { vmlinux: join(cache, 'vmlinux'), initrd: join(cache, 'initrd.img'), disk: join(cache, 'disk.img') };
}

/** QEMU and the systemd guest's image are present. Never builds anything (see buildSystemImage). */
export function systemGuestsAvailable(): Availability {
  const f = systemFiles();
  const missing = [f.vmlinux, f.initrd, f.disk].filter((p) => !existsSync(p));
  if (!have(QEMU)) return { ok: false, reason: `${QEMU} is not installed (bash scripts/guest-image.sh installs it and builds the image)` };
  if (missing.length) return { ok: false, reason: `no systemd guest image (${missing.join(', ')}); bash scripts/guest-image.sh builds it (about a minute)` };
  return { ok: true };
}

/**
 * Runs scripts/guest-image.sh (root, Debian mirror, npm): builds the Debian root once, and the disk
 * image again whenever kairo's sources changed (npm pack, npm install -g into the image); a cache
 * hit otherwise.
 */
export function buildSystemImage(opts: { timeoutMs?: number; quiet?: boolean } = {}): { ok: boolean; output: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', [SYSTEM_BUILD_SCRIPT], { encoding: 'utf8', timeout: opts.timeoutMs ?? 900_000, env: process.env, maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  if (!opts.quiet) process.stderr.write(output);
  return { ok: r.status === 0, output, ms: Date.now() - t0 };
}

/** QEMU and the boot files are present. Never builds anything (see buildGuestKernel). */
export function guestsAvailable(): Availability {
  const f = guestFiles();
  const missing = [f.vmlinux, f.initrd].filter((p) => !existsSync(p));
  if (!have(QEMU)) return { ok: false, reason: `${QEMU} is not installed (bash scripts/guest-kernel.sh installs it and builds the boot files)` };
  if (missing.length) return { ok: false, reason: `no guest boot files (${missing.join(', ')}); bash scripts/guest-kernel.sh builds them (about a minute)` };
  return { ok: true };
}

/** Runs scripts/guest-kernel.sh (root, Debian mirror): installs QEMU and builds the boot files, or finds them cached. */
export function buildGuestKernel(opts: { timeoutMs?: number; quiet?: boolean } = {}): { ok: boolean; output: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', [GUEST_BUILD_SCRIPT], { encoding: 'utf8', timeout: opts.timeoutMs ?? 600_000, env: process.env, maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  if (!opts.quiet) process.stderr.write(output);
  return { ok: r.status === 0, output, ms: Date.now() - t0 };
}

// --- initramfs overlay ---------------------------------------------------------------------------

/** A cpio "newc" archive (the format the kernel unpacks), directories first as needed. */
export function newcArchive(files: { path: string; content: string | Buffer; mode: number }[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Buffer) => {
    const nameBuf = Buffer.from(`${name}\0`);
    const fields = [ino++, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0];
    const header = Buffer.from(`070701${fields.map((v) => v.toString(16).padStart(8, '0')).join('')}`);
    parts.push(header, nameBuf, pad4(header.length + nameBuf.length), data, pad4(data.length));
  };
  const dirs = new Set<string>();
  for (const f of files) {
    const rel = f.path.replace(/^\/+/, '');
    const segs = rel.split('/');
    for (let i = 1; i < segs.length; i++) {
      const d = segs.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entry(d, 0o040755, Buffer.alloc(0));
      }
    }
    entry(rel, 0o100000 | f.mode, Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content));
  }
  entry('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

const NIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

function validate(specs: GuestSpec[]): Map<string, { guest: number; nic: number }[]> {
  const names = new Set<string>();
  const links = new Map<string, { guest: number; nic: number }[]>();
  specs.forEach((s, g) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s.name)) throw new Error(`guest: bad name ${JSON.stringify(s.name)}`);
    if (names.has(s.name)) throw new Error(`guest: duplicate name ${s.name}`);
    names.add(s.name);
    const ids = new Set<string>();
    s.nics.forEach((n, i) => {
      if (!NIC_NAME.test(n.id) || n.id === 'lo') throw new Error(`guest ${s.name}: bad NIC name ${JSON.stringify(n.id)}`);
      if (n.mac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(n.mac)) throw new Error(`guest ${s.name}: bad MAC ${JSON.stringify(n.mac)} (lower-case xx:xx:xx:xx:xx:xx)`);
      if (ids.has(n.id)) throw new Error(`guest ${s.name}: duplicate NIC ${n.id}`);
      ids.add(n.id);
      links.set(n.link, [...(links.get(n.link) ?? []), { guest: g, nic: i }]);
    });
    for (const p of Object.keys(s.files ?? {})) if (!p.startsWith('/') || p.split('/').includes('..')) throw new Error(`guest ${s.name}: file path must be absolute: ${p}`);
    if (s.after !== undefined && !s.serve) throw new Error(`guest ${s.name}: 'after' needs 'serve'`);
    if (s.systemd && (s.serve || s.after !== undefined)) throw new Error(`guest ${s.name}: a systemd guest cannot serve (it reboots and powers off by itself)`);
  });
  for (const [link, ends] of links) {
    if (ends.length !== 2) throw new Error(`guest: link ${link} has ${ends.length} end(s); a link joins exactly two NICs`);
  }
  return links;
}

const defaultMac = (g: number, n: number) => `02:6b:61:00:${g.toString(16).padStart(2, '0')}:${(n + 1).toString(16).padStart(2, '0')}`;

/** The payload disk of a systemd guest: a tar (root-owned files only, parents made on unpacking). */
function payloadTar(dir: string, files: { path: string; content: string | Buffer; mode: number }[], out: string): void {
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode });
  }
  const r = spawnSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--no-recursion', '-cf', out, '-C', dir, ...files.map((f) => f.path.replace(/^\/+/, ''))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`guest: tar of the payload failed: ${r.stderr}`);
}

interface Running {
  spec: GuestSpec;
  child: ChildProcess;
  started: number;
  out: string;
  bootMs?: number;
  scriptRc?: number;
  afterRc?: number;
  boots: { n: number; ms: number; uptime: number }[];
  rebootAt?: number;
  rebootMs?: number;
  held: boolean;
  released: boolean;
  exited: boolean;
  timedOut: boolean;
  ms: number;
}

/**
 * Boots every guest at once, wires their NICs, runs their scripts and collects the results.
 * `timeoutMs` bounds the whole run: guests still running then are killed (SIGKILL, by PID) and
 * reported with timedOut. Temporary sockets and initrds are removed in every case.
 */
export async function runGuests(specs: GuestSpec[], timeoutMs: number): Promise<GuestResult[]> {
  const links = validate(specs);
  for (const avail of [specs.some((s) => !s.systemd) && guestsAvailable(), specs.some((s) => s.systemd) && systemGuestsAvailable()]) {
    if (avail && !avail.ok) throw new Error(`guest: ${avail.reason}`);
  }
  const boot = guestFiles();
  const system = systemFiles();
  const mac = (g: number, n: number) => specs[g].nics[n].mac ?? defaultMac(g, n);
  const dir = mkdtempSync(join(tmpdir(), 'kairo-guest-'));
  const running: Running[] = [];
  const killAll = () => {
    for (const r of running) if (!r.exited && r.child.pid) try { process.kill(r.child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.once('exit', killAll);
  try {
    // Each link: two unix datagram sockets, each guest binds its own and sends to the other's.
    const netArgs: string[][] = specs.map(() => []);
    [...links.values()].forEach((ends, l) => {
      ends.forEach((end, side) => {
        const local = join(dir, `l${l}${side ? 'b' : 'a'}.sock`);
        const remote = join(dir, `l${l}${side ? 'a' : 'b'}.sock`);
        const id = `n${end.nic}`;
        netArgs[end.guest].push('-netdev', `dgram,id=${id},local.type=unix,local.path=${local},remote.type=unix,remote.path=${remote}`,
          '-device', `virtio-net-device,netdev=${id},mac=${mac(end.guest, end.nic)}`);
      });
    });
    // Keep QEMU's -device order the same as the NICs' (virtio-mmio slots are probed in order).
    specs.forEach((s, g) => {
      const args = netArgs[g];
      const byNic: string[][] = [];
      for (let i = 0; i < args.length; i += 4) byNic[Number(/id=n(\d+)/.exec(args[i + 1])![1])] = args.slice(i, i + 4);
      netArgs[g] = byNic.flat();
    });

    specs.forEach((s, g) => {
      if (s.systemd) {
        // The NICs are named by .link files (udev, at the first boot, from the payload).
        const files = [
          { path: '/etc/kairo-guest/test.sh', content: s.script, mode: 0o755 },
          { path: '/etc/kairo-guest/after-reboot.sh', content: s.systemd.afterReboot, mode: 0o755 },
          { path: '/etc/hostname', content: `${s.name}\n`, mode: 0o644 },
          ...s.nics.map((n, i) => ({ path: `/etc/systemd/network/05-lab-nic-${n.id}.link`, content: `[Match]\nMACAddress=${mac(g, i)}\n\n[Link]\nName=${n.id}\n`, mode: 0o644 })),
          ...Object.entries(s.files ?? {}).map(([path, f]) => (typeof f === 'string' ? { path, content: f, mode: f.startsWith('#!') ? 0o755 : 0o644 } : { path, ...f })),
        ];
        const payload = join(dir, `${g}.payload.tar`);
        payloadTar(join(dir, `${g}.payload`), files, payload);
        // panic=0: a panicked kernel must not reboot into the second phase (the run is killed instead).
        const args = ['-M', 'microvm', '-accel', 'tcg,tb-size=256', '-cpu', 'max', '-m', String(s.systemd.memoryMb ?? 1024), '-smp', '1', '-nodefaults', '-no-user-config',
          '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-kernel', system.vmlinux, '-initrd', system.initrd,
          '-append', 'console=ttyS0 root=LABEL=kairo-root rw quiet panic=0 tsc_early_khz=2100000 cryptomgr.notests',
          '-drive', `id=root,file=${system.disk},format=raw,if=none,snapshot=on`, '-device', 'virtio-blk-device,drive=root',
          '-drive', `id=payload,file=${payload},format=raw,if=none,readonly=on`, '-device', 'virtio-blk-device,drive=payload,serial=kairo-payload',
          ...netArgs[g]];
        // -snapshot's temporary overlay goes to TMPDIR: this run's directory, removed at the end.
        const child = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } });
        running.push({ spec: s, child, started: Date.now(), out: '', boots: [], held: false, released: false, exited: false, timedOut: false, ms: 0 });
        return;
      }
      const overlay = [
        { path: '/test.sh', content: s.script, mode: 0o755 },
        { path: '/etc/kairo-guest/hostname', content: `${s.name}\n`, mode: 0o644 },
        { path: '/etc/kairo-guest/nics', content: s.nics.map((n, i) => `${mac(g, i)} ${n.id}\n`).join(''), mode: 0o644 },
        ...(s.serve ? [{ path: '/etc/kairo-guest/hold', content: '', mode: 0o644 }] : []),
        ...(s.after !== undefined ? [{ path: '/after.sh', content: s.after, mode: 0o755 }] : []),
        ...(s.modules?.length ? [{ path: '/etc/kairo-guest/modules.extra', content: `${s.modules.join('\n')}\n`, mode: 0o644 }] : []),
        ...Object.entries(s.files ?? {}).map(([path, f]) => (typeof f === 'string' ? { path, content: f, mode: f.startsWith('#!') ? 0o755 : 0o644 } : { path, ...f })),
      ];
      const initrd = join(dir, `${g}.initrd`);
      copyFileSync(boot.initrd, initrd);
      appendFileSync(initrd, newcArchive(overlay));
      const args = ['-M', 'microvm', '-accel', 'tcg', '-cpu', 'max', '-m', '256', '-smp', '1', '-no-reboot', '-nodefaults', '-no-user-config',
        '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-kernel', boot.vmlinux, '-initrd', initrd,
        '-append', 'console=ttyS0 quiet panic=-1 tsc_early_khz=2100000 cryptomgr.notests', ...netArgs[g]];
      const child = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      running.push({ spec: s, child, started: Date.now(), out: '', boots: [], held: false, released: false, exited: false, timedOut: false, ms: 0 });
    });

    // Serving guests are released (one console line) once every other guest has exited.
    const releaseServers = () => {
      if (running.some((r) => !r.spec.serve && !r.exited)) return;
      for (const r of running) {
        if (r.spec.serve && r.held && !r.released && !r.exited) {
          r.released = true;
          r.child.stdin?.write('go\n');
        }
      }
    };

    await new Promise<void>((resolve) => {
      let left = running.length;
      let grace: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        for (const r of running) if (!r.exited) r.timedOut = true;
        killAll();
        // A killed process always reports its exit; this only bounds the wait if it somehow does not.
        grace = setTimeout(resolve, 5000);
      }, timeoutMs);
      for (const r of running) {
        let partial = '';
        const onData = (d: Buffer) => {
          const text = d.toString('utf8').replace(/\r/g, '');
          r.out += text;
          const lines = (partial + text).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (r.bootMs === undefined && line.includes('KAIRO-GUEST-INIT')) r.bootMs = Date.now() - r.started;
            const exit = /KAIRO-GUEST-EXIT rc=(\d+)/.exec(line);
            if (exit) r.scriptRc = Number(exit[1]);
            const after = /KAIRO-GUEST-AFTER rc=(\d+)/.exec(line);
            if (after) r.afterRc = Number(after[1]);
            if (line.includes('KAIRO-GUEST-HOLD')) {
              r.held = true;
              releaseServers();
            }
            const b = /KAIRO-GUEST-BOOT n=(\d+) uptime=([0-9.]+)/.exec(line);
            if (b) {
              r.boots.push({ n: Number(b[1]), ms: Date.now() - r.started, uptime: Number(b[2]) });
              if (r.rebootAt !== undefined && r.rebootMs === undefined) r.rebootMs = Date.now() - r.rebootAt;
            }
            if (line.includes('KAIRO-GUEST-REBOOT')) r.rebootAt = Date.now();
            // A systemd guest boots with panic=0 (no reboot into its second phase): end it now.
            if (r.spec.systemd && line.includes('Kernel panic') && r.child.pid) try { process.kill(r.child.pid, 'SIGKILL'); } catch { /* gone */ }
          }
        };
        r.child.stdout!.on('data', onData);
        r.child.stderr!.on('data', (d: Buffer) => { r.out += d.toString('utf8'); });
        r.child.stdin!.on('error', () => { /* the guest is gone */ });
        const done = () => {
          if (r.exited) return;
          r.exited = true;
          r.ms = Date.now() - r.started;
          releaseServers();
          if (--left === 0) {
            clearTimeout(timer);
            clearTimeout(grace);
            resolve();
          }
        };
        r.child.on('exit', done);
        r.child.on('error', (e) => {
          r.out += `\nguest: ${e.message}\n`;
          done();
        });
      }
    });

    return running.map((r) => {
      const markers: Record<string, string> = {};
      for (const m of r.out.matchAll(/KAIRO-RESULT ([A-Za-z0-9_.-]+)=(.*)$/gm)) markers[m[1]] = m[2].trim();
      // A systemd guest passes only through both boots: the second one after its own reboot.
      const rebooted = !r.spec.systemd || (r.rebootAt !== undefined && r.boots.map((b) => b.n).join(',') === '1,2');
      const ok = !r.timedOut && r.scriptRc === 0 && (!r.spec.serve || r.afterRc === 0) && rebooted;
      return { name: r.spec.name, ok, output: r.out, markers, ms: r.ms, bootMs: r.bootMs, scriptRc: r.scriptRc, afterRc: r.afterRc, timedOut: r.timedOut, boots: r.boots, rebootMs: r.rebootMs };
    });
  } finally {
    killAll();
    process.removeListener('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The console output of failed guests, for assertion messages. */
export function guestReport(results: GuestResult[]): string {
  return results
    .map((r) => `--- ${r.name}: ${r.ok ? 'ok' : r.timedOut ? 'TIMED OUT' : 'FAILED'} (script rc ${r.scriptRc ?? '-'}${r.afterRc !== undefined ? `, after rc ${r.afterRc}` : ''}, boot ${r.bootMs ?? '-'} ms${r.boots.length ? `, boots ${r.boots.map((b) => `#${b.n} at ${b.ms} ms`).join(' ')}` : ''}, ${r.ms} ms)\n${r.output.trimEnd()}`)
    .join('\n');
}
