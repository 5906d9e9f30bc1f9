// The services slot: each capability declares the daemons it runs. Every declared unit is a file
// the node renders, every file a service names is rendered, and kairo-boot comes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { nodeServices } from '../../src/render/index.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');

test('services: every example declares rendered units and files, kairo-boot first and enabled', () => {
  const seen = new Set<string>();
  for (const f of readdirSync(examples).filter((x) => x.endsWith('.yaml'))) {
    const r = compileSite(readFileSync(join(examples, f), 'utf8'), f, { readFile: fileReaderBeside(join(examples, f)) });
    assert.ok(r.ok, f);
    for (const n of r.nodes) {
      const services = nodeServices(n.model);
      const paths = new Set(n.artifacts.map((a) => a.path));
      assert.equal(services[0]?.unit, 'kairo-boot.service', `${f}: kairo-boot is not first`);
      for (const s of services) {
        seen.add(s.unit);
        assert.ok(paths.has(`/etc/systemd/system/${s.unit}`), `${f}: ${s.unit} has no unit file`);
        for (const p of s.files) assert.ok(paths.has(p), `${f}: ${s.unit} names ${p}, which is not rendered`);
        assert.ok(s.enabled);
        for (const a of s.after ?? []) assert.ok(services.some((x) => x.unit === a), `${f}: ${s.unit} comes after ${a}, which the node does not run`);
      }
    }
  }
  // The examples cover the boot unit, PPPoE and DS-Lite.
  for (const u of ['kairo-boot.service', 'kairo-pppoe-', 'kairo-ds-lite-']) assert.ok([...seen].some((s) => s.startsWith(u)), `no example runs ${u}`);
});

test('services: a site with prefix delegation runs the follower, restarted when its script changes', () => {
  const text = readFileSync(join(import.meta.dirname, '..', 'golden', 'pd-site.yaml'), 'utf8');
  const r = compileSite(text);
  assert.ok(r.ok);
  const follow = nodeServices(r.nodes[0].model).find((s) => s.unit === 'kairo-pd-follow.service');
  assert.ok(follow);
  assert.equal(follow.onChange, 'restart');
  assert.ok(follow.files.includes('/etc/kairo/pd/follow.sh'));
});
