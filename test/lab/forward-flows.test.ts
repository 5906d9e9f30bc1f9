// A removed port forward ends the connections it translated, and only those: two long-lived TCP
// connections come in from the Internet through two forwards to one target; apply removes one
// forward; plan said so beforehand; that connection stops being carried while the other one (and
// its conntrack entry) lives on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { labDown, upLab } from '../../src/lab/index.js';
import { AGENT, startIn } from '../../src/lab/run.js';
import { NetnsTarget } from '../../src/targets/index.js';
import { apply } from '../../src/apply/transaction.js';
import { computePlan, formatPlan } from '../../src/apply/plan.js';
import type { LabPlan } from '../../src/lab/plan.js';
import { have, run } from '../../src/lib/exec.js';
import { example, labSkip } from './helpers.js';

const skip = labSkip() || (have('conntrack') ? false : 'skipped: conntrack is not installed (scripts/setup.sh installs it)');
// Site name "ffl" keeps this lab's namespaces apart from the other tests' cloud-nat labs.
const FORWARDS = `    - { name: echo-a, from: wan, proto: tcp, port: 9000, destination: 10.0.0.1, to: "10.0.1.1:9000" }
    - { name: echo-b, from: wan, proto: tcp, port: 9001, destination: 10.0.0.1, to: "10.0.1.1:9001" }
`;
const both = example('cloud-nat-instance', (t) => t.replace('name: cloud-nat', 'name: ffl').replace('  forwards:\n', `  forwards:\n${FORWARDS}`));
const withoutA = example('cloud-nat-instance', (t) => t.replace('name: cloud-nat', 'name: ffl').replace('  forwards:\n', `  forwards:\n${FORWARDS.split('\n')[1]}\n`));
const meta = (r: typeof both) => ({ site: 'ffl', node: 'router', services: r.nodes[0].services, forwards: r.nodes[0].forwards });

let plan: LabPlan;
let target: NetnsTarget;

before(() => {
  if (skip) return;
  assert.ok(both.ok && withoutA.ok, [...both.diagnostics, ...withoutA.diagnostics].map((d) => d.message).join('\n'));
  plan = upLab(both, () => {}).plan;
  target = new NetnsTarget(plan.routers[0].ns, join('/run/kairo-lab', plan.prefix, 'router'));
  apply(target, both.nodes[0].artifacts, meta(both));
  // The lab's agent answers forwarded ports with one line and closes; echo servers instead.
  const t = plan.hosts.find((h) => h.role === 'target' && h.owns.includes('10.0.1.1'))!;
  for (const pid of run('ip', ['netns', 'pids', t.ns]).stdout.split(/\s+/).filter(Boolean)) run('kill', [pid]);
  run('sleep', ['0.2']);
  startIn(t.ns, join('/run/kairo-lab', plan.prefix, 'logs', 'echo.log'), process.execPath, [AGENT, 'serve', 'echo', 'echo:9000', 'echo:9001']);
  run('sleep', ['0.5']);
});

after(() => {
  if (plan) labDown(plan.prefix);
});

function hold(port: number, seconds: number) {
  const isp = plan.hosts.find((h) => h.role === 'isp')!.ns;
  const p = spawn('ip', ['netns', 'exec', isp, process.execPath, AGENT, 'hold', '10.0.0.1', String(port), String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  const connected = new Promise<void>((r) => p.stdout!.once('data', () => r()));
  const result = new Promise<{ outcome: string; sent: number; received: number }>((r) => p.on('exit', () => r(JSON.parse(out.trim().split('\n').pop()!))));
  return { connected, result };
}

test('a removed forward ends exactly its own connections; plan says how many', { skip, timeout: 60_000 }, async () => {
  const a = hold(9000, 4);
  const b = hold(9001, 4);
  await Promise.all([a.connected, b.connected]);
  await new Promise((r) => setTimeout(r, 500));
  const p = computePlan(target, withoutA.nodes[0].artifacts, withoutA.nodes[0].services, withoutA.nodes[0].forwards);
  assert.deepEqual(p.flows, [{ label: 'nat.forwards[echo-a]', connections: 1 }]);
  assert.match(formatPlan(p), /nat\.forwards\[echo-a\] is removed: its 1 established connection will be ended/);
  const r = apply(target, withoutA.nodes[0].artifacts, meta(withoutA));
  assert.ok(r.steps.includes('nat.forwards[echo-a] removed: 1 of its connections ended'), r.steps.join('\n'));
  const [ra, rb] = await Promise.all([a.result, b.result]);
  assert.ok(ra.received < ra.sent - 5, `the removed forward's connection is no longer carried: ${JSON.stringify(ra)}`);
  assert.equal(rb.outcome, 'held', JSON.stringify(rb));
  assert.ok(rb.sent >= 30 && rb.received === rb.sent, `the other forward's connection carried every line: ${JSON.stringify(rb)}`);
});

test('status, confirm and rollback take --target lab:NODE (or lab:SITE:NODE) without the site file', { skip, timeout: 60_000 }, () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'kairo.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  // lab:router alone finds the one running lab with a node 'router'; lab:ffl:router is exact
  // (another suite's lab may be running next to this one).
  const st = cli('status', '--target', 'lab:ffl:router');
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`netns:${target.netns}:.*generation 2 live`));
  const c = cli('confirm', '--target', 'lab:ffl:router');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /nothing to confirm/);
  const rb = cli('rollback', '--target', 'lab:ffl:router');
  assert.equal(rb.status, 0, rb.stderr);
  assert.match(rb.stdout, /rolled back; generation 3 now holds what was applied before \(was 2\)/);
  const none = cli('status', '--target', 'lab:nosuchnode');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no running lab has a node 'nosuchnode'/);
});
