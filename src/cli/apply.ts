// plan, apply, confirm, rollback, status: the transaction commands. Thin: pick the target and the
// node's artifacts, call src/apply, print.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFile, summary } from './io.js';
import { parseTargetSpec, HostTarget, NetnsTarget, type Target } from '../targets/index.js';
import { BootError, bootRestore } from '../apply/boot.js';
import { computePlan, formatPlan } from '../apply/plan.js';
import { apply, ApplyError, confirm, rollback, status, withLock } from '../apply/transaction.js';
import { LockBusy } from '../apply/lock.js';
import { Store } from '../apply/store.js';
import { labPrefix, type LabPlan } from '../lab/plan.js';
import { STATE_ROOT, stateDir } from '../lab/run.js';
import { hostname } from 'node:os';

interface TargetOpts {
  target?: string;
  node?: string;
  wait?: string;
}

function fail(msg: string): never {
  console.error(`kairo: ${msg}`);
  process.exit(1);
}

/** `lab:NODE` needs the site file (to find its running lab); everything else stands alone. */
export function resolveTarget(spec: string, site?: string): Target {
  if (spec.startsWith('lab:')) {
    // Without the site file (status, confirm, rollback): the running lab that has this node.
    // lab:SITE:NODE names the lab outright (names hold no ':').
    const parts = spec.slice(4).split(':');
    if (parts.length === 2) [site, spec] = [parts[0], `lab:${parts[1]}`];
    site ??= runningLabWithNode(spec.slice(4));
    const dir = stateDir(labPrefix(site));
    let plan: LabPlan;
    try {
      plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as LabPlan;
    } catch {
      fail(`no running lab for site '${site}' (kairo lab up FILE first)`);
    }
    const node = spec.slice(4) || plan.routers[0].node;
    const r = plan.routers.find((x) => x.node === node) ?? fail(`the lab has no node '${node}' (nodes: ${plan.routers.map((x) => x.node).join(', ')})`);
    return new NetnsTarget(r.ns, join(dir, r.node));
  }
  const t = parseTargetSpec(spec);
  if (typeof t === 'string') fail(t);
  if (t instanceof NetnsTarget && !existsSync(`/run/netns/${t.netns}`)) fail(`target ${spec}: there is no network namespace '${t.netns}' (ip netns list shows those there are)`);
  return t;
}

/** The site of the one running lab that has NODE (any node when empty). */
function runningLabWithNode(node: string): string {
  const found: string[] = [];
  for (const d of existsSync(STATE_ROOT) ? readdirSync(STATE_ROOT) : []) {
    try {
      const plan = JSON.parse(readFileSync(join(STATE_ROOT, d, 'plan.json'), 'utf8')) as LabPlan;
      if (!node || plan.routers.some((r) => r.node === node)) found.push(plan.site);
    } catch {
      // not a lab's state directory
    }
  }
  if (found.length === 1) return found[0];
  if (found.length === 0) fail(`no running lab has a node '${node}' (kairo lab up FILE first)`);
  fail(`several running labs have a node '${node}' (${found.join(', ')}): say which with --target lab:SITE:${node || 'NODE'}`);
}

function nodeArtifacts(file: string, opts: TargetOpts) {
  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) fail(summary(result));
  const target = resolveTarget(opts.target ?? 'host', result.site!.name ?? 'site');
  let node = result.nodes[0];
  if (result.nodes.length > 1) {
    const want = opts.node ?? (target.kind === 'host' ? hostname() : opts.target?.startsWith('lab:') ? opts.target.slice(4) : undefined);
    node = result.nodes.find((n) => n.node === want) ?? fail(`the site has nodes ${result.nodes.map((n) => n.node).join(', ')}: say which with --node`);
  } else if (opts.node && opts.node !== node.node) fail(`the site has no node '${opts.node}'`);
  return { result, target, node };
}

function watchdog(target: Target): number | undefined {
  const bin = join(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'kairo.js');
  const log = openSync(join(target.stateDir, 'watchdog.log'), 'a');
  const p = spawn(process.execPath, [bin, '_watchdog', '--target', target.spec], { detached: true, stdio: ['ignore', log, log] });
  p.unref();
  return p.pid;
}

function report(e: unknown): never {
  if (e instanceof ApplyError || e instanceof LockBusy) fail((e as Error).message);
  throw e;
}

export function planCommand(file: string, opts: TargetOpts & { json?: boolean; diff?: boolean; detailedExitcode?: boolean }): void {
  const { target, node } = nodeArtifacts(file, opts);
  const plan = computePlan(target, node.artifacts, node.services, node.forwards);
  // JSON is complete: the items and summary, and every change with its diff.
  if (opts.json) console.log(JSON.stringify({ target: target.spec, node: node.node, summary: plan.summary, items: plan.items, changes: plan.changes, reloads: plan.reloads, units: plan.units, flows: plan.flows }, null, 2));
  else console.log(`${target.spec} (node ${node.node}):\n${formatPlan(plan, opts.diff)}`);
  if (opts.detailedExitcode && plan.changes.length > 0) process.exitCode = 2;
}

function parseDuration(s: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(s);
  if (!m) fail(`'${s}' is not a duration (e.g. 90s, 2m)`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

export function applyCommand(file: string, opts: TargetOpts & { confirm?: string; healthCmd?: string }): void {
  const { result, target, node } = nodeArtifacts(file, opts);
  try {
    const r = apply(target, node.artifacts, { site: result.site!.name ?? 'site', node: node.node, services: node.services, forwards: node.forwards }, {
      confirmSeconds: opts.confirm ? parseDuration(opts.confirm) : undefined,
      healthCommand: opts.healthCmd ? opts.healthCmd.split(' ').filter(Boolean) : undefined,
      waitLockMs: opts.wait ? parseDuration(opts.wait) * 1000 : 0,
      log: (s) => console.log(`kairo: ${s}`),
      startWatchdog: watchdog,
    });
    if (!r.changed) return console.log(`${target.spec}: no changes (generation ${r.generation})`);
    for (const s of r.steps) console.log(`  ${s}`);
    console.log(`${target.spec}: generation ${r.generation} applied (was ${r.previous})${r.pending ? `; run 'kairo confirm${target.kind === 'host' ? '' : ` --target ${target.spec}`}' before ${new Date(r.pending.deadline).toISOString()} or it is reverted` : ''}`);
  } catch (e) {
    report(e);
  }
}

export function confirmCommand(opts: TargetOpts): void {
  try {
    console.log(confirm(resolveTarget(opts.target ?? 'host')));
  } catch (e) {
    report(e);
  }
}

export function rollbackCommand(n: string | undefined, opts: TargetOpts): void {
  const target = resolveTarget(opts.target ?? 'host');
  try {
    const r = rollback(target, n === undefined ? undefined : Number(n), { log: (s) => console.log(`kairo: ${s}`), waitLockMs: opts.wait ? parseDuration(opts.wait) * 1000 : 0 });
    console.log(r.changed ? `${target.spec}: rolled back; generation ${r.generation} now holds what was applied before (was ${r.previous})` : `${target.spec}: already there`);
  } catch (e) {
    report(e);
  }
}

export function statusCommand(opts: TargetOpts & { json?: boolean }): void {
  const target = resolveTarget(opts.target ?? 'host');
  try {
    const s = status(target);
    if (opts.json) return console.log(JSON.stringify(s, null, 2));
    for (const m of s.messages) console.log(`kairo: ${m}`);
    console.log(`${target.spec}: generation ${s.current} live, ${s.confirmed || 'none'} confirmed${s.drift ? '; kairo\'s tables were changed outside kairo (drift)' : ''}`);
    if (s.pending) console.log(`pending: generation ${s.pending.generation} reverts to ${s.pending.previous} at ${new Date(s.pending.deadline).toISOString()} unless confirmed`);
    for (const u of s.units) {
      const wrong = u.wanted === 'enabled' && (u.enabled !== 'enabled' || u.active === 'failed');
      console.log(`  unit ${u.unit}: ${u.enabled}, ${u.active}${wrong ? '  (not as applied: kairo apply puts it right)' : ''}`);
    }
    for (const g of s.generations.slice(-10)) console.log(`  ${String(g.n).padStart(4)}  ${g.status.padEnd(9)}  ${g.created}${g.note ? `  ${g.note}` : ''}`);
  } catch (e) {
    report(e);
  }
}

/** The commit-confirm watchdog: sleeps until the deadline, then reverts if nobody confirmed. */
export function watchdogCommand(opts: { target: string }): void {
  const target = resolveTarget(opts.target);
  const store = new Store(target.stateDir);
  const tick = () => {
    const p = store.pending();
    if (!p) return;
    const wait = p.deadline - Date.now();
    if (wait > 0) return void setTimeout(tick, Math.min(wait + 20, 60_000));
    try {
      // Taking the lock runs the housekeeping, which reverts an expired commit-confirm.
      const messages = withLock(target, { waitLockMs: 30_000 }, (h) => h.messages);
      console.log(`${new Date().toISOString()} watchdog: ${messages.join('; ') || 'nothing pending'}`);
    } catch (e) {
      console.log(`${new Date().toISOString()} watchdog: ${(e as Error).message}`);
      setTimeout(tick, 1000);
    }
  };
  tick();
}

/** kairo-boot.service: the last confirmed generation back in place, its ruleset, then its sysctl. */
export function bootCommand(): void {
  const say = (s: string) => console.log(`kairo boot: ${s}`);
  try {
    const r = bootRestore(new HostTarget(), say);
    if (r.reverted) say(`generation ${r.reverted} was not confirmed and is reverted; 'kairo status' shows it`);
  } catch (e) {
    if (e instanceof BootError || e instanceof LockBusy) fail((e as Error).message);
    throw e;
  }
}
