// Target mistakes are named as such, never reported as something else (like a rejected ruleset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const kairo = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), ...args], { encoding: 'utf8', cwd: root });

test('a netns target without its namespace, an unknown target, a missing generation: clear messages, exit 1', () => {
  const ns = kairo('apply', 'examples/home-router.yaml', '--target', 'netns:kairo-no-such-ns:/tmp/kairo-none');
  assert.equal(ns.status, 1);
  assert.match(ns.stderr, /there is no network namespace 'kairo-no-such-ns'/);
  const bogus = kairo('status', '--target', 'bogus');
  assert.equal(bogus.status, 1);
  assert.match(bogus.stderr, /unknown target 'bogus': use host, dir:PATH, netns:NAME:ROOT or lab:NODE/);
  const gen = kairo('rollback', '7', '--target', `dir:/tmp/kairo-rollback-${process.pid}`);
  assert.equal(gen.status, 1);
  assert.match(gen.stderr, /no generation 7 to roll back to/);
  for (const r of [ns, bogus, gen]) assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
});
