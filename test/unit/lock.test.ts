// The apply lock: exactly one owner, also when many processes race to take over a lock whose owner
// died (the lock file names a pid that no longer exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LockBusy, takeoverGuard } from '../../src/apply/lock.js';

const racer = join(import.meta.dirname, 'fixtures', 'lock-racer.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pid that existed a moment ago and is gone (exited and reaped). */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid && r.status === 0);
  return r.pid;
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

test('racing for a lock whose owner died: exactly one process wins, every round', async () => {
  const N = 8;
  const ROUNDS = Number(process.env.KAIRO_LOCK_ROUNDS ?? 30);
  const dir = mkdtempSync(join(tmpdir(), 'kairo-lock-'));
  const state = join(dir, 'state');
  const sync = join(dir, 'sync');
  for (const d of [state, sync]) mkdirSync(d);
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < N; i++) children.push(spawn(process.execPath, ['--import', 'tsx', racer, state, sync, String(ROUNDS), String(i)], { stdio: ['ignore', 'inherit', 'inherit'] }));
    await until('the racers to start', () => readdirSync(sync).filter((f) => f.startsWith('ready-')).length === N, 60_000);
    const lock = join(state, 'lock');
    for (let round = 0; round < ROUNDS; round++) {
      // Half the rounds with the token an older kairo wrote (pid and time), half with today's.
      const dead = deadPid();
      writeFileSync(lock, round % 2 ? `${dead} 2024-01-01T00:00:00.000Z\n` : `${dead} 2024-01-01T00:00:00.000Z 0123456789abcdef\n`);
      writeFileSync(join(sync, 'go.tmp'), String(Date.now() + 40));
      renameSync(join(sync, 'go.tmp'), join(sync, `go-${round}`));
      const results = () => readdirSync(sync).filter((f) => f.startsWith(`result-${round}-`));
      await until(`round ${round}'s results`, () => results().length === N);
      const lines = results().map((f) => readFileSync(join(sync, f), 'utf8'));
      const winners = lines.filter((l) => / won$/.test(l));
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} processes hold the lock at once:\n${lines.join('\n')}`);
      const winner = winners[0].split(' ')[0];
      assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${winner} `), `round ${round}: the lock names its owner`);
      for (const l of lines.filter((x) => !/ won$/.test(x))) assert.match(l, new RegExp(`busy another kairo transaction \\(pid ${winner}, since `), `round ${round}: a loser names the owner`);
      writeFileSync(join(sync, `end-${round}`), '');
      await until(`round ${round}'s release`, () => !existsSync(lock));
    }
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.on('exit', r)))));
    assert.deepEqual(children.map((c) => c.exitCode), Array(N).fill(0));
    assert.deepEqual(readdirSync(state), [], 'no lock, guard or private file is left behind');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a live owner keeps its lock; a guard left by a process that died mid-takeover does not block', () => {
  const state = mkdtempSync(join(tmpdir(), 'kairo-lock-'));
  const lock = join(state, 'lock');
  try {
    writeFileSync(lock, `${process.pid} 2024-01-01T00:00:00.000Z abc\n`);
    assert.throws(() => acquireLock(state, 0), (e: Error) => e instanceof LockBusy && new RegExp(`pid ${process.pid}, since 2024-01-01T00:00:00.000Z\\) holds`).test(e.message));
    const t0 = Date.now();
    assert.throws(() => acquireLock(state, 250), LockBusy);
    assert.ok(Date.now() - t0 >= 250, '--wait waits');

    // Stale lock, and the guard of its takeover held by another dead process.
    const stale = `${deadPid()} 2024-01-01T00:00:00.000Z abc\n`;
    writeFileSync(lock, stale);
    writeFileSync(takeoverGuard(lock, stale), `${deadPid()} 2024-01-01T00:00:01.000Z def\n`);
    const release = acquireLock(state, 0);
    assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid} `));
    assert.throws(() => acquireLock(state, 0), LockBusy, 'held means held, also for the same process');
    release();
    assert.deepEqual(readdirSync(state), []);

    // A lock that is no longer ours (taken over) is not removed by our release.
    const r2 = acquireLock(state, 0);
    writeFileSync(lock, `${process.pid} 2024-01-01T00:00:02.000Z other\n`);
    r2();
    assert.ok(existsSync(lock));
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
