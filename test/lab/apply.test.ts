// Transactions on a lab namespace target, one test per fault. After each, the live state (kairo's
// tables as the kernel lists them, the files, the sysctl values) equals exactly the old or the new
// generation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { labDown, upLab } from '../../src/lab/index.js';
import { AGENT } from '../../src/lab/run.js';
import { NetnsTarget } from '../../src/targets/index.js';
import { apply, ApplyError, kairoListing, rollback, status, sysctlEntries } from '../../src/apply/transaction.js';
import { computePlan, formatPlan } from '../../src/apply/plan.js';
import { Store } from '../../src/apply/store.js';
import type { Artifact } from '../../src/render/artifact.js';
import type { LabPlan } from '../../src/lab/plan.js';
import { must, run } from '../../src/lib/exec.js';
import { example, exampleText, labSkip, root } from './helpers.js';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const skip = labSkip();
const base = example('home-router');
const addNtp = (t: string) => t.replace('  rules:\n', '  rules:\n    - { name: ntp, from: lan, to: router, proto: udp, port: 123, action: accept }\n');
const withNtp = example('home-router', addNtp);
// The CLI reads the site from a file, and the PPPoE password from the file beside it.
const ntpDir = mkdtempSync(join(tmpdir(), 'kairo-apply-'));
const ntpFile = join(ntpDir, 'home-router.yaml');
const lanBlocked = example('home-router', (t) => t.replace('    - { from: lan, to: wan, action: accept }', '    - { from: lan, to: wan, action: drop }'));
const arts = (r: typeof base) => r.nodes[0].artifacts;
const meta = { site: 'home', node: 'router' };

let plan: LabPlan;
let target: NetnsTarget;

interface Snapshot {
  listing: string;
  files: Record<string, string | undefined>;
  sysctl: Record<string, string>;
}

function snapshot(): Snapshot {
  const files: Record<string, string | undefined> = {};
  for (const a of [...arts(base), ...arts(withNtp)]) files[a.path] = target.readFile(a.path)?.content;
  const sysctl: Record<string, string> = {};
  for (const k of sysctlEntries(arts(base)[1].content).keys()) sysctl[k] = must('sysctl', ['-n', k], { netns: target.netns }).trim();
  return { listing: kairoListing(target, true)!, files, sysctl };
}

/** The live state is exactly what the generation's artifacts say (files byte for byte, the ruleset as a full load lists it). */
function assertIsGeneration(s: Snapshot, artifacts: Artifact[], what: string) {
  for (const a of artifacts) assert.equal(s.files[a.path], a.content, `${what}: ${a.path}`);
  const nft = artifacts.find((a) => a.path.endsWith('nftables.nft'))!.content;
  const ns = `kt-apply-ref-${process.pid}`;
  run('ip', ['netns', 'del', ns]);
  must('ip', ['netns', 'add', ns]);
  try {
    must('nft', ['-f', '-'], { netns: ns, input: nft });
    const ref = new NetnsTarget(ns, '/nonexistent');
    assert.equal(s.listing, kairoListing(ref, true), `${what}: kairo's tables`);
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}

const kairo = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [join(root, 'bin', 'kairo.js'), ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, ...env }, timeout: 60_000 });

function startPaused(file: string, step: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'kairo.js'), 'apply', file, '--target', target.spec], { cwd: root, env: { ...process.env, KAIRO_FAULT_PAUSE: step }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(`paused at ${step}`)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`apply exited (${code}) before pausing: ${out}`)));
  });
}

before(() => {
  if (skip) return;
  plan = upLab(base, () => {}).plan;
  target = new NetnsTarget(plan.routers[0].ns, join('/run/kairo-lab', plan.prefix, 'router'));
  writeFileSync(ntpFile, exampleText('home-router', addNtp));
  copyFileSync(join(root, 'examples', 'home-router.pppoe-password'), join(ntpDir, 'home-router.pppoe-password'));
  copyFileSync(join(root, 'examples', 'home-router.blocklist'), join(ntpDir, 'home-router.blocklist'));
  const r = apply(target, arts(base), meta);
  assert.equal(r.generation, 1);
});

after(() => {
  if (plan) labDown(plan.prefix);
  rmSync(ntpDir, { recursive: true, force: true });
});

test('apply: a ruleset nft rejects changes nothing', { skip }, () => {
  const before = snapshot();
  const gens = new Store(target.stateDir).generations();
  const broken = arts(withNtp).map((a) => (a.path.endsWith('nftables.nft') ? { ...a, content: a.content.replace('th dport 123 counter accept', 'th dport 123 counter acceptt') } : a));
  assert.throws(() => apply(target, broken, meta), (e: Error) => e instanceof ApplyError && e.step === 'check' && !e.reverted && /rejected by nft -c; nothing was changed/.test(e.message));
  assert.deepEqual(snapshot(), before);
  assert.deepEqual(new Store(target.stateDir).generations(), gens, 'no generation was recorded');
});

test('apply: a configuration the network layer rejects is reverted in full', { skip }, () => {
  const before = snapshot();
  const bogus: Artifact = { path: '/etc/systemd/network/50-kairo-nosuch0.network', content: '[Match]\nName=nosuch0\n\n[Network]\nAddress=10.99.0.1/24\n', mode: 0o644, owner: 'interfaces', reload: 'networkd' };
  assert.throws(() => apply(target, [...arts(withNtp), bogus], meta), (e: Error) => e instanceof ApplyError && e.reverted && /nosuch0/.test(e.message));
  const s = snapshot();
  assert.deepEqual(s, before);
  assertIsGeneration(s, arts(base), 'after revert');
  assert.equal(target.readFile(bogus.path), undefined, 'the new file is gone');
  const st = status(target);
  assert.equal(st.generations.at(-1)!.status, 'failed');
});

test('apply: a failing health check is reverted in full', { skip }, () => {
  const before = snapshot();
  assert.throws(() => apply(target, arts(withNtp), meta, { healthCommand: ['ping', '-c', '1', '-W', '1', '192.0.2.250'] }), (e: Error) => e instanceof ApplyError && e.step === 'health' && e.reverted);
  assert.deepEqual(snapshot(), before);
});

test('apply: killed with SIGKILL half-way, the next command restores a consistent generation', { skip }, async () => {
  const before = snapshot();
  const child = await startPaused(ntpFile, 'after-change');
  try {
    // Half-way: the new ruleset is live, the transaction has not finished.
    assert.match(kairoListing(target, true)!, /udp dport 123/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  const s = kairo(['status', '--target', target.spec]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /recovered: a transaction to generation \d+ .* was interrupted; generation 1 restored/);
  assert.deepEqual(snapshot(), before);
  assertIsGeneration(snapshot(), arts(base), 'after recovery');
});

test('apply: a second transaction while one runs fails clearly', { skip }, async () => {
  const child = await startPaused(ntpFile, 'journal');
  try {
    const second = kairo(['apply', ntpFile, '--target', target.spec]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`another kairo transaction \\(pid ${child.pid}, since .*\\) holds`));
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  assert.equal(kairo(['status', '--target', target.spec]).status, 0);
  assertIsGeneration(snapshot(), arts(base), 'after the killed first');
});

test('apply --confirm: not confirmed → reverted; a TCP connection opened before lives through apply and revert', { skip }, async () => {
  const client = plan.hosts.find((h) => h.role === 'client')!.ns;
  const internet = plan.isp!.internet4;
  const probe = () => JSON.parse(must(process.execPath, [AGENT, 'probe', 'tcp', internet, '443', '800'], { netns: client }).trim()).outcome;
  assert.equal(probe(), 'answer', 'LAN reaches the Internet before');
  const hold = spawn('ip', ['netns', 'exec', client, process.execPath, AGENT, 'hold', internet, '7', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  hold.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((r) => hold.stdout!.once('data', () => r()));
  const r = apply(target, arts(lanBlocked), meta, { confirmSeconds: 2 });
  assert.ok(r.pending);
  assert.equal(probe(), 'timeout', 'new LAN connections are dropped while the change is live');
  await new Promise((res) => setTimeout(res, 2300));
  const st = status(target); // the housekeeping reverts the expired confirm (the watchdog would too)
  assert.equal(st.current, r.previous);
  assert.equal(probe(), 'answer', 'LAN reaches the Internet again after the revert');
  await new Promise((res) => hold.on('exit', res));
  const held = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(held.outcome, 'held', `the connection broke: ${out}`);
  assert.ok(held.sent >= 40 && held.received === held.sent, `every line echoed: ${out}`);
  assertIsGeneration(snapshot(), arts(base), 'after the revert');
});

test('apply: plan says "No changes" right after apply, and exactly one rule after a one-line edit', { skip }, () => {
  assert.equal(computePlan(target, arts(base)).changes.length, 0);
  const p = computePlan(target, arts(withNtp));
  assert.deepEqual(p.changes.map((c) => `${c.kind} ${c.what}`), ['~ file', '~ nftables']);
  // In the user's terms: one rule.
  assert.deepEqual(p.items, [{ kind: '+', what: 'rule', name: 'firewall.rules[ntp]' }]);
  assert.match(formatPlan(p), /^\+ rule firewall\.rules\[ntp\]\n\nreload: nftables\n\nPlan: 1 to add, 0 to change, 0 to destroy\.$/m);
  for (const c of p.changes) {
    const added = c.diff!.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    const removed = c.diff!.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
    assert.equal(added.length, 1, c.diff);
    assert.match(added[0], /dport 123 counter accept comment "firewall.rules\[ntp\]"/);
    // Named rules keep their comments when a rule is inserted before them: nothing else changes.
    assert.deepEqual(removed, [], c.diff);
  }
});

test('plan on a real kernel: routes as ip lists them match the files; a route the site drops is a removal', { skip }, () => {
  const withRoutes = example('home-router', (t) => t.replace('    ipv4: 10.0.0.1/24\n', '    ipv4: 10.0.0.1/24\n    routes: [{ to: 198.51.100.0/24, via: 10.0.0.2 }, { to: 198.51.100.77 }, { to: 203.0.113.0/25, via: 10.0.0.3 }]\n'));
  const applied = apply(target, arts(withRoutes), meta);
  try {
    // ip prints the host route without /32: still no change.
    const same = computePlan(target, arts(withRoutes));
    assert.deepEqual(same.changes, [], JSON.stringify(same.changes));
    assert.deepEqual(same.items, []);
    // Dropping the site's routes: each live one is a removal, by name, and networkd reloads.
    const back = computePlan(target, arts(base));
    assert.deepEqual(back.changes.filter((c) => c.what === 'route').map((c) => `${c.kind} ${c.name}`).sort(), [
      '- 198.51.100.0/24 via 10.0.0.2 dev enp2s0',
      '- 198.51.100.77/32 dev enp2s0 scope link',
      '- 203.0.113.0/25 via 10.0.0.3 dev enp2s0',
    ]);
    assert.ok(back.reloads.includes('networkd'));
    assert.match(formatPlan(back), /^- route 198\.51\.100\.77\/32 dev enp2s0 scope link$/m);
    // One of them already gone from the kernel: not a removal any more.
    must('ip', ['route', 'del', '203.0.113.0/25', 'dev', 'enp2s0'], { netns: target.netns });
    assert.equal(computePlan(target, arts(base)).changes.filter((c) => c.what === 'route').length, 2);
  } finally {
    rollback(target, applied.previous);
  }
  assert.deepEqual(computePlan(target, arts(base)).changes, []);
  assert.equal(must('ip', ['route', 'show', 'dev', 'enp2s0'], { netns: target.netns }).includes('198.51.100'), false);
});

test('apply: a Docker-like table is identical after 100 applies and reverts', { skip }, () => {
  must('nft', ['-f', '-'], { netns: target.netns, input: 'table ip docker_like {\n\tchain DOCKER { }\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\toifname "docker0" jump DOCKER\n\t}\n}\n' });
  const foreign = () => must('nft', ['list', 'table', 'ip', 'docker_like'], { netns: target.netns });
  const before = foreign();
  for (let i = 0; i < 50; i++) {
    apply(target, arts(withNtp), meta);
    rollback(target, undefined);
  }
  assert.equal(foreign(), before);
  assertIsGeneration(snapshot(), arts(base), 'after 100 transactions');
});

