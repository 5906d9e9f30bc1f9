// `kairo boot` on a directory target (files only; the nspawn host tier proves the ruleset, sysctl
// and units on a real systemd): a restart while a commit-confirm is pending puts back every file of
// the last confirmed generation, removes what only the unconfirmed one had, and records it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { DirTarget } from '../../src/targets/index.js';
import { apply } from '../../src/apply/transaction.js';
import { bootRestore } from '../../src/apply/boot.js';
import { Store } from '../../src/apply/store.js';

const file = join(import.meta.dirname, '..', '..', 'examples', 'home-router.yaml');
const home = readFileSync(file, 'utf8');
const compile = (text: string) => {
  const r = compileSite(text, 'home-router.yaml', { readFile: fileReaderBeside(file) });
  assert.ok(r.ok);
  return r.nodes[0];
};

test('kairo boot: a pending generation is replaced by the confirmed one, file by file, and recorded as reverted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-boot-'));
  try {
    const t = new DirTarget(dir);
    const a = compile(home);
    apply(t, a.artifacts, { site: 'home', node: 'router', services: a.services });
    // The pending generation: another LAN address (a networkd file), no PPPoE (unit and peer files go).
    const changed = home.replaceAll('10.0.0.', '10.0.9.').replace(/  wan:\n    device: ppp0\n    zone: wan\n    pppoe: .*\n/, '  wan:\n    device: enp1s0\n    zone: wan\n    ipv4: dhcp\n');
    const b = compile(changed);
    assert.notEqual(changed, home);
    const r2 = apply(t, b.artifacts, { site: 'home', node: 'router', services: b.services }, { confirmSeconds: 300 });
    assert.ok(r2.pending);
    const onDisk = (p: string) => (existsSync(join(dir, p)) ? readFileSync(join(dir, p), 'utf8') : undefined);
    const pppUnit = a.artifacts.find((x) => x.path.includes('kairo-pppoe'))!;
    assert.equal(onDisk(pppUnit.path), undefined, 'the pending generation removed the PPPoE unit');

    const lines: string[] = [];
    const r = bootRestore(t, (s) => lines.push(s));
    assert.equal(r.reverted, 2);
    assert.equal(r.generation, 1);
    for (const x of a.artifacts) assert.equal(onDisk(x.path), x.content, `${x.path} is the confirmed generation's`);
    for (const x of b.artifacts.filter((y) => !a.artifacts.some((z) => z.path === y.path))) assert.equal(onDisk(x.path), undefined, `${x.path} (only the pending generation's) is gone`);
    const store = new Store(t.stateDir);
    assert.equal(store.current(), 1);
    assert.equal(store.pending(), undefined);
    assert.equal(store.manifest(2)?.status, 'reverted');
    assert.match(store.manifest(2)?.note ?? '', /restarted before the commit-confirm; generation 1 restored at boot/);
    assert.match(lines.join('\n'), /generation 1 restored \(\d+ files written, \d+ removed\)/);
    // A second boot finds nothing to undo.
    assert.equal(bootRestore(t).reverted, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kairo boot: with nothing confirmed yet, a pending first generation leaves no file of kairo behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kairo-boot-'));
  try {
    const t = new DirTarget(dir);
    const a = compile(home);
    apply(t, a.artifacts, { site: 'home', node: 'router', services: a.services }, { confirmSeconds: 300 });
    const r = bootRestore(t);
    assert.equal(r.reverted, 1);
    assert.equal(r.generation, 0);
    assert.equal(r.ruleset, 'none');
    for (const x of a.artifacts) assert.equal(existsSync(join(dir, x.path)), false, x.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
