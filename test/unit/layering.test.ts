// The arrows point inward (.dependency-cruiser.cjs): the pure core never imports the lab, apply,
// targets or the CLI. Checked on the real import graph, type-only imports included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

test('layering: no import breaks the inward-only rules', () => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `dependency-cruiser found violations:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /no dependency violations found \((\d+) modules/);
  const modules = Number(/\((\d+) modules/.exec(r.stdout)![1]);
  assert.ok(modules > 80, `only ${modules} modules were looked at: the check did not see the tree`);
});
