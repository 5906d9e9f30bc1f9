// One transaction at a time per target: an exclusive lock file holding the owner's pid. A lock
// whose owner is gone (killed with SIGKILL) is stale and taken over.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LockBusy extends Error {}

export function acquireLock(stateDir: string, waitMs = 0): () => void {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid} ${new Date().toISOString()}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = '';
    try {
      holder = readFileSync(file, 'utf8').trim();
    } catch {
      continue; // released between our attempts
    }
    const [pidText, since] = holder.split(' ');
    const pid = Number(pidText);
    if (!pid || !alive(pid)) {
      rmSync(file, { force: true }); // stale: its owner died
      continue;
    }
    if (Date.now() >= deadline) throw new LockBusy(`another kairo transaction (pid ${pid}, since ${since}) holds ${file}; wait for it, or pass --wait SECONDS`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}
