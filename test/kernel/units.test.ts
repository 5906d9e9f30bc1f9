// Every systemd unit kairo renders, for every example, passes `systemd-analyze verify`. The units
// point at kairo's own files (/etc/kairo, /var/lib/kairo), which do not exist on the test machine:
// they are placed in a temporary root and the unit's paths pointed there, nothing else changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { have, run } from '../../src/lib/exec.js';

const root = join(import.meta.dirname, '..', '..');
const examples = join(root, 'examples');
const kairo = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), ...args], { encoding: 'utf8', cwd: root });
const skip = !have('systemd-analyze') ? 'skipped: systemd-analyze is not installed' : !have('pppd') ? 'skipped: pppd is not installed (scripts/setup.sh installs ppp)' : false;

test('systemd-analyze verify accepts every rendered unit', { skip }, () => {
  let units = 0;
  for (const f of readdirSync(examples).filter((x) => x.endsWith('.yaml'))) {
    const r = compileSite(readFileSync(join(examples, f), 'utf8'), f, { readFile: fileReaderBeside(join(examples, f)) });
    assert.ok(r.ok, f);
    for (const n of r.nodes) {
      const root = mkdtempSync(join(tmpdir(), 'kairo-units-'));
      try {
        for (const a of n.artifacts) {
          const p = join(root, a.path);
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, a.content.replaceAll('/etc/kairo/', `${root}/etc/kairo/`).replaceAll('/var/lib/kairo/', `${root}/var/lib/kairo/`));
          chmodSync(p, a.mode);
        }
        for (const a of n.artifacts.filter((x) => x.path.endsWith('.service'))) {
          const v = run('systemd-analyze', ['verify', join(root, a.path)]);
          // A unit that names a target this container lacks is not our error; anything else is.
          const problems = v.stderr.split('\n').filter((l) => l.trim() && !/Unit \S+\.target not found|Failed to create .*\/start/.test(l));
          assert.deepEqual(problems, [], `${f} ${n.node} ${a.path}`);
          units++;
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
  assert.ok(units >= 8, `verified ${units} units`);
});

test('the boot unit as `kairo render` writes it passes systemd-analyze verify', { skip: have('systemd-analyze') ? false : 'skipped: systemd-analyze is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-unit-'));
  try {
    const r = kairo('render', 'examples/home-router.yaml', '--out', dir);
    assert.equal(r.status, 0, r.stderr);
    const unit = join(dir, 'router/etc/systemd/system/kairo-boot.service');
    assert.match(readFileSync(unit, 'utf8'), /ExecStart=\/usr\/bin\/env kairo boot/);
    assert.match(readFileSync(unit, 'utf8'), /Before=network-pre\.target systemd-networkd\.service/);
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
