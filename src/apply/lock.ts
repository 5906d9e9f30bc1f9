// One transaction at a time per target: an exclusive lock file holding its owner's token
// (`PID SINCE NONCE`). A lock whose owner is gone (killed with SIGKILL) is stale and taken over.
//
// Every step is atomic, so any number of processes racing for a stale lock end with one owner:
//  - A lock file is created complete or not at all: the token is written to a private file which
//    is then link()ed to `lock` (link fails when `lock` exists). Nobody reads a half-written lock.
//  - A stale lock holding token T is replaced only by the process that owns T's takeover guard
//    (`lock.takeover-<hash of T>`, taken with this same algorithm, so a guard whose owner died is
//    taken over in turn). The guard's owner re-reads `lock` and, if it still holds T, renames its
//    own token over it. Tokens are never reused, so once `lock` no longer holds T, a guard for T
//    can replace nothing: a slow contender that read T long ago finds another token and waits.
//  - Release removes the lock only while it still holds the releaser's token.
//
// Not proper-lockfile: it judges staleness by the lock's mtime, refreshed by a timer. kairo's
// transaction is synchronous (spawnSync of nft, ip, sysctl) and would starve that timer, so a long
// apply would look stale to a second process. A dead pid is the exact test; the kernel gives it.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class LockBusy extends Error {}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The kernel's id of this boot. The lock lives on disk: after a restart its pid may belong to
 * another process, so a token from another boot is stale whatever its pid. (systemd-nspawn gives
 * each container boot an id of its own.)
 */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Stale: its owner is dead or from an earlier boot. An empty or unreadable token (an older kairo wrote the pid after creating the file) only once it is old. */
function isStale(content: string, file: string): boolean {
  const [pidText, , , boot] = content.trim().split(' ');
  if (boot && boot !== bootId()) return true;
  const pid = Number(pidText);
  if (Number.isInteger(pid) && pid > 0) return !alive(pid);
  try {
    return Date.now() - statSync(file).mtimeMs > 2000;
  } catch {
    return false;
  }
}

/** The guard whose owner alone may replace `file` while it holds `content`. */
export function takeoverGuard(file: string, content: string): string {
  return `${file}.takeover-${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
}

type Attempt = { ok: true } | { ok: false; holder: string };

/** One attempt to make `file` hold `mine`. Not ok: `holder` is the token of the live process in the way. */
function tryTake(file: string, mine: string): Attempt {
  const start = Date.now();
  for (;;) {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, mine, { flag: 'wx' });
    try {
      try {
        linkSync(tmp, file);
        return { ok: true };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = read(file);
      if (held === undefined) continue; // released between our attempts
      if (!isStale(held, file)) return { ok: false, holder: held };
      const guard = takeoverGuard(file, held);
      const g = tryTake(guard, mine);
      if (!g.ok) {
        // Another process is replacing the stale lock right now (a matter of microseconds): look
        // again, to name the new owner. A guard owner that hangs is the one in the way.
        if (Date.now() - start > 1000) return g;
        sleep(1);
        continue;
      }
      try {
        if (read(file) === held) {
          renameSync(tmp, file);
          return { ok: true };
        }
      } finally {
        release(guard, mine);
      }
      // `file` changed while we took the guard (released, or replaced already): look again.
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

function release(file: string, mine: string): void {
  if (read(file) === mine) rmSync(file, { force: true });
}

/** Private files of processes that died between writing and linking them. */
function sweep(stateDir: string): void {
  for (const f of readdirSync(stateDir)) {
    const m = /^lock(?:\.takeover-[0-9a-f]+)*\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(f);
    if (m && !alive(Number(m[1]))) rmSync(join(stateDir, f), { force: true });
  }
}

export function acquireLock(stateDir: string, waitMs = 0): () => void {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lock');
  const mine = `${process.pid} ${new Date().toISOString()} ${randomBytes(8).toString('hex')} ${bootId()}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = tryTake(file, mine);
    if (r.ok) {
      sweep(stateDir);
      return () => release(file, mine);
    }
    if (Date.now() >= deadline) {
      const [pid, since] = r.holder.trim().split(' ');
      throw new LockBusy(`another kairo transaction (pid ${pid}, since ${since}) holds ${file}; wait for it, or pass --wait SECONDS`);
    }
    sleep(100);
  }
}
