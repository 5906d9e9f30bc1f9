// The lab leaves nothing behind: after up/test/down through the CLI, and after an `up` killed
// half-way followed by `down --all`, no namespace or process of the lab remains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { labSkip, namespacesWith, processesOf, root } from './helpers.js';

const skip = labSkip();
const kairo = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), ...args], { encoding: 'utf8', cwd: root, timeout: 120_000 });
const leftovers = () => processesOf(/agent\.mjs serve kl-|kairo-lab\/kl-|kl-.*(dnsmasq|radvd)/);

test('lab: up, test, down through the CLI leave nothing behind', { skip }, () => {
  const up = kairo('lab', 'up', 'examples/home-router.yaml');
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /lab: ready in \d+ ms/);
  assert.ok(namespacesWith('kl-home-').length >= 4);
  const t = kairo('lab', 'test', 'examples/home-router.yaml');
  assert.equal(t.status, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /lab: 18 passed, 0 failed, 0 skipped/);
  const down = kairo('lab', 'down', 'examples/home-router.yaml');
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(namespacesWith('kl-home-'), []);
  assert.deepEqual(leftovers(), []);
});

test('lab: an up killed half-way is cleared by down --all', { skip }, async () => {
  const child = spawn(process.execPath, [join(root, 'bin', 'kairo.js'), 'lab', 'up', 'examples/routed-vm-host.yaml'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  // Kill it once servers are being started: namespaces and processes exist, the lab is not complete.
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      if (/servers:/.test(String(d))) resolve();
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(namespacesWith('kl-vmhost-').length > 10, 'the killed up left namespaces behind (what down --all must clear)');
  const down = kairo('lab', 'down', '--all');
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(namespacesWith('kl-'), []);
  assert.deepEqual(leftovers(), []);
});

test('lab: an up that fails half-way removes what it built and says why, without a stack trace', { skip: skip || (['/usr/bin/sysctl', '/bin/sysctl'].some((p) => existsSync(p)) ? 'skipped: sysctl is on the reduced PATH here, so the failure cannot be provoked' : false) }, () => {
  // Without /usr/sbin on PATH, sysctl (needed after the first namespace exists) cannot be run.
  const r = spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), 'lab', 'up', 'examples/home-router.yaml'], { encoding: 'utf8', cwd: root, env: { ...process.env, PATH: '/usr/bin:/bin' }, timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^kairo lab: .*sysctl.*\n\(the lab was removed again; nothing of it is left\)/m);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
  assert.deepEqual(namespacesWith('kl-home-'), []);
  assert.deepEqual(leftovers(), []);
});
