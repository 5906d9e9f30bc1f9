// Applying artifacts to a target as one transaction: check everything that can be checked before
// anything changes, keep the previous generation, change files, ruleset, sysctl and interfaces,
// check health, and put everything back as it was if any step fails. A journal on disk lets the
// next run finish the job of a process that was killed half-way.
import { runDaemonChecks, servicesToCheck } from './daemon-checks.js';
import { loadModules } from './modules.js';
import type { Artifact } from '../render/artifact.js';
import { KAIRO_TABLES, NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { rulesetDelta } from '../render/nft-delta.js';
import type { Target } from '../targets/types.js';
import type { Service } from '../features/feature.js';
import { acquireLock } from './lock.js';
import { endFlows, removedForwards, type ForwardFlows } from './flows.js';
import { formatServiceAction, repairActions, serviceActions, type LiveUnit, type ServiceAction } from './services.js';
import { Store, type Manifest, type Pending } from './store.js';

export class ApplyError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly reverted: boolean,
  ) {
    super(message);
  }
}

export interface ApplyOptions {
  /** Revert unless `kairo confirm` runs within this many seconds. */
  confirmSeconds?: number;
  /** A command (argv) run in the target's namespace after apply; non-zero exit means unhealthy. */
  healthCommand?: string[];
  waitLockMs?: number;
  log?: (line: string) => void;
  /** Starts the process that reverts when a commit-confirm times out; returns its pid. */
  startWatchdog?: (target: Target) => number | undefined;
}

export interface ApplyResult {
  /** Milliseconds per phase, for the bench and for users who wonder where the time goes. */
  timings?: Record<string, number>;
  generation: number;
  previous: number;
  changed: boolean;
  nft: 'delta' | 'full' | 'unchanged' | 'none';
  steps: string[];
  pending?: Pending;
  /** The systemctl steps run (empty where the target has no systemd). */
  services: ServiceAction[];
}

/** What a generation holds: its files and the units they install. */
export interface GenerationState {
  artifacts: Artifact[];
  services: Service[];
  forwards?: ForwardFlows[];
}

export function generationState(store: Store, n: number): GenerationState {
  const m = store.manifest(n);
  return { artifacts: store.artifacts(n), services: m?.services ?? [], forwards: m?.forwards ?? [] };
}

const nftOf = (arts: Artifact[]) => arts.find((a) => a.path === NFT_PATH)?.content;
const sysctlOf = (arts: Artifact[]) => arts.find((a) => a.path === SYSCTL_PATH)?.content;

/** `key = value` lines of a sysctl.d file. */
export function sysctlEntries(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^\s*([^#;\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/**
 * kairo's tables as the kernel lists them, counters stripped: what "live" means for the ruleset.
 * Full for the plan. For drift detection and health, the structure only (`nft list chains`: every
 * table, chain, hook and policy), because any listing that includes rules makes nft fetch every
 * set element first: 1.3 s with a 100 000-entry blocklist, against 20 ms.
 */
export function kairoListing(target: Target, full = false): string | undefined {
  if (!target.exec) return undefined;
  if (!full) {
    const r = target.exec('nft', ['list', 'chains']);
    if (r.code !== 0) return undefined;
    const ours = new Set(KAIRO_TABLES.map(([f, t]) => `table ${f} ${t} {`));
    const out: string[] = [];
    let keep = false;
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('table ')) keep = ours.has(line);
      if (keep) out.push(line);
    }
    return out.join('\n');
  }
  const parts: string[] = [];
  for (const [fam, name] of KAIRO_TABLES) {
    const r = target.exec('nft', ['list', 'table', fam, name]);
    if (r.code === 0) parts.push(r.stdout.replace(/counter packets \d+ bytes \d+/g, 'counter'));
  }
  return parts.join('');
}

/** Current values, in one call when every key exists (the usual case), else key by key. */
function readSysctl(target: Target, keys: string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (keys.length === 0) return out;
  const all = target.exec!('sysctl', ['-n', ...keys]);
  const lines = all.stdout.split('\n');
  if (all.code === 0 && lines.length >= keys.length) {
    keys.forEach((k, i) => out.set(k, lines[i].trim()));
    return out;
  }
  for (const k of keys) {
    const r = target.exec!('sysctl', ['-n', k]);
    out.set(k, r.code === 0 ? r.stdout.trim() : null);
  }
  return out;
}

function writeSysctl(target: Target, values: Map<string, string>): void {
  if (values.size === 0) return;
  const r = target.exec!('sysctl', ['-q', '-w', ...[...values].map(([k, v]) => `${k}=${v}`)]);
  if (r.code !== 0) throw new Error(`sysctl: ${r.stderr.trim()}`);
}

/** Files of `to`, ruleset of `to`, sysctl of `to` (falling back to the values from before `from`), interfaces of `to`. */
/**
 * The nft script that takes kairo's tables from `from` to `to`: a delta when allowed and possible,
 * else the full ruleset (which replaces the tables), or the deletion of kairo's tables.
 */
export function nftScript(to: Artifact[], from: Artifact[], allowDelta: boolean): { script: string; kind: 'delta' | 'full' | 'unchanged' } {
  const after = nftOf(to);
  const before = nftOf(from);
  if (after === undefined) return { script: KAIRO_TABLES.map(([f, t]) => `table ${f} ${t}\ndelete table ${f} ${t}`).join('\n'), kind: 'full' };
  if (allowDelta && after === before) return { script: '', kind: 'unchanged' };
  const delta = allowDelta && before !== undefined ? rulesetDelta(before, after) : undefined;
  if (delta) return { script: delta.script, kind: delta.script ? 'delta' : 'unchanged' };
  return { script: after, kind: 'full' };
}

interface PutResult {
  nft: 'delta' | 'full' | 'unchanged' | 'none';
  /** Paths written: what health reads back (the others were compared already). */
  written: Set<string>;
  services: ServiceAction[];
  /** Connections ended, per removed forward (undefined: no conntrack tool here). */
  flows?: { label: string; ended: number }[];
}

/** is-enabled and is-active of each unit, in two calls (one line per unit, in order). */
export function liveUnits(target: Target, units: string[]): Map<string, LiveUnit> {
  const out = new Map<string, LiveUnit>();
  if (!target.systemctl || units.length === 0) return out;
  const enabled = target.systemctl(['is-enabled', ...units]).stdout.split('\n');
  const active = target.systemctl(['is-active', ...units]).stdout.split('\n');
  units.forEach((u, i) => out.set(u, { enabled: enabled[i]?.trim() || 'not-found', active: active[i]?.trim() || 'unknown' }));
  return out;
}

/** The systemctl steps from one generation to another, plus the repair of units changed by hand. */
export function unitSteps(target: Target, from: GenerationState, to: GenerationState): ServiceAction[] {
  if (!target.systemctl) return [];
  const planned = serviceActions(from, to);
  const live = liveUnits(target, to.services.filter((s) => s.enabled).map((s) => s.unit));
  return [...planned, ...repairActions(to.services, live, planned)];
}

/** The last lines systemd has about a unit, for an error the user can act on. */
function unitStatus(target: Target, unit: string): string {
  const r = target.systemctl!(['status', '--no-pager', '--lines=6', unit]);
  return r.stdout.trim().split('\n').map((l) => `  | ${l}`).join('\n');
}

/**
 * systemctl, step by step. Going forward a failed step stops the transaction (it is reverted); a
 * revert goes on past a failed step (the files and the ruleset matter more) and reports it.
 */
function runServiceActions(target: Target, actions: ServiceAction[], strict: boolean, log: (s: string) => void): void {
  for (const a of actions) {
    const args = a.verb === 'daemon-reload' ? ['daemon-reload'] : [a.verb, a.unit];
    const r = target.systemctl!(args);
    if (r.code === 0) continue;
    const msg = `systemctl ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}${a.unit ? `\n${unitStatus(target, a.unit)}` : ''}`;
    if (strict) throw new Error(msg);
    log(`${msg} (going on with the revert)`);
  }
}

function putState(target: Target, toGen: GenerationState, fromGen: GenerationState, sysctlBefore: Record<string, string | null>, nftMode: 'delta-ok' | 'full', planned?: { script: string; kind: 'delta' | 'full' | 'unchanged' }, revert?: { log: (s: string) => void }): PutResult {
  const to = toGen.artifacts;
  const from = fromGen.artifacts;
  const services = unitSteps(target, fromGen, toGen);
  const systemd = (phase: ServiceAction['phase']) => runServiceActions(target, services.filter((a) => a.phase === phase), !revert, revert?.log ?? (() => {}));
  systemd('before-files');
  const written = new Set<string>();
  for (const a of to) {
    const live = target.readFile(a.path);
    if (!live || live.content !== a.content || live.mode !== a.mode) {
      target.writeFile(a.path, a.content, a.mode);
      written.add(a.path);
    }
  }
  const kept = new Set(to.map((a) => a.path));
  for (const a of from) if (!kept.has(a.path)) target.removeFile(a.path);
  if (!target.exec) return { nft: 'none', written, services, flows: [] };

  const { script, kind } = planned ?? nftScript(to, from, nftMode === 'delta-ok');
  if (script) {
    const r = target.exec('nft', ['-f', '-'], script);
    if (r.code !== 0) throw new Error(`nft: ${r.stderr.trim()}`);
  }
  const nft = kind;
  // The removed forwards' DNAT no longer exists for new connections; end those it made.
  const flows = endFlows(target, removedForwards(fromGen.forwards ?? [], toGen.forwards ?? []));

  if (target.applyNetwork) target.applyNetwork(to, from);

  const want = sysctlEntries(sysctlOf(to));
  for (const [k, v] of Object.entries(sysctlBefore)) if (!want.has(k) && v !== null) want.set(k, v);
  writeSysctl(target, want);
  systemd('after-files');
  return { nft, written, services, flows };
}

/** Reads back what was written, checks kernel state; returns the structure listing for the generation's record. */
function health(target: Target, arts: Artifact[], services: Service[], written: Set<string>, opts: ApplyOptions): string | undefined {
  for (const a of arts.filter((x) => written.has(x.path))) {
    const live = target.readFile(a.path);
    if (live?.content !== a.content) throw new Error(`file ${a.path} does not hold what was written`);
  }
  if (!target.exec) return undefined;
  const chains = kairoListing(target) ?? '';
  if (nftOf(arts) !== undefined) {
    for (const [f, t] of KAIRO_TABLES) if (!chains.includes(`table ${f} ${t} {`)) throw new Error(`table ${f} ${t} is not loaded`);
  }
  const want = sysctlEntries(sysctlOf(arts));
  for (const [k, v] of readSysctl(target, [...want.keys()])) {
    if (v !== want.get(k)) throw new Error(`sysctl ${k} is ${v ?? 'missing'}, want ${want.get(k)}`);
  }
  // A unit kairo started that systemd marks failed (pppd that cannot start, a tunnel that found no
  // address in time) makes the apply unhealthy like a failed health command.
  if (target.systemctl) {
    for (const s of services.filter((x) => x.enabled && x.onChange !== 'none')) {
      if (target.systemctl(['is-failed', '--quiet', s.unit]).code === 0) throw new Error(`${s.unit} failed:\n${unitStatus(target, s.unit)}`);
    }
  }
  if (opts.healthCommand?.length) {
    const r = target.exec(opts.healthCommand[0], opts.healthCommand.slice(1));
    if (r.code !== 0) throw new Error(`health command '${opts.healthCommand.join(' ')}' failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`);
  }
  return chains;
}

/** Test seam: KAIRO_FAULT_PAUSE=<step> makes the transaction stop there (to be killed by a test). */
function faultPoint(step: string): void {
  if (process.env.KAIRO_FAULT_PAUSE !== step) return;
  process.stdout.write(`kairo: paused at ${step} (KAIRO_FAULT_PAUSE)\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

/** Undoes a transaction that did not finish (its process died): back to the generation it started from. */
export function recover(target: Target, store: Store, log: (s: string) => void = () => {}): string | undefined {
  const j = store.journal();
  if (!j) return undefined;
  const failed = store.manifest(j.to);
  putState(target, generationState(store, j.from), generationState(store, j.to), failed?.sysctlBefore ?? {}, 'full', undefined, { log });
  store.setStatus(j.to, 'failed', `interrupted (pid ${j.pid}); restored generation ${j.from}`);
  store.setCurrent(j.from);
  store.clearJournal();
  const msg = `recovered: a transaction to generation ${j.to} (pid ${j.pid}, ${j.started}) was interrupted; generation ${j.from === 0 ? '0 (nothing)' : j.from} restored`;
  log(msg);
  return msg;
}

/** A commit-confirm whose time ran out is reverted by whoever looks first: the watchdog or any kairo command. */
export function expirePending(target: Target, store: Store, now = Date.now(), log: (s: string) => void = () => {}): string | undefined {
  const p = store.pending();
  if (!p || now < p.deadline) return undefined;
  const m = store.manifest(p.generation);
  putState(target, generationState(store, p.previous), generationState(store, p.generation), m?.sysctlBefore ?? {}, 'full', undefined, { log });
  store.setStatus(p.generation, 'reverted', 'not confirmed in time');
  store.setCurrent(p.previous);
  store.clearPending();
  const msg = `commit-confirm timed out: generation ${p.generation} reverted to ${p.previous}`;
  log(msg);
  return msg;
}

export interface Housekeeping {
  store: Store;
  messages: string[];
}

/** Every command starts here: lock, finish an interrupted transaction, expire a timed-out confirm. */
export function withLock<T>(target: Target, opts: { waitLockMs?: number; log?: (s: string) => void }, fn: (h: Housekeeping) => T): T {
  const release = acquireLock(target.stateDir, opts.waitLockMs ?? 0);
  try {
    const store = new Store(target.stateDir);
    const messages = [recover(target, store, opts.log), expirePending(target, store, Date.now(), opts.log)].filter((x): x is string => Boolean(x));
    return fn({ store, messages });
  } finally {
    release();
  }
}

export function apply(target: Target, rendered: Artifact[], meta: { site: string; node: string; services?: Service[]; forwards?: ForwardFlows[] }, opts: ApplyOptions = {}): ApplyResult {
  const artifacts = rendered.filter((a) => a.install !== false);
  const services = meta.services ?? [];
  const log = opts.log ?? (() => {});
  return withLock(target, opts, ({ store }) => {
    const steps: string[] = [];
    const timings: Record<string, number> = {};
    let mark = Date.now();
    const lap = (name: string) => {
      const now = Date.now();
      timings[name] = now - mark;
      mark = now;
    };
    const previous = store.current();
    const beforeGen = generationState(store, previous);
    const before = beforeGen.artifacts;
    const prevManifest = store.manifest(previous);

    // 1. Checks before anything changes. With drift (someone changed kairo's tables by hand) only
    // a full load is safe; otherwise the delta. nft -c checks exactly the script that will run.
    const liveListing = kairoListing(target);
    const drift = prevManifest?.nftListing !== undefined && liveListing !== prevManifest.nftListing;
    const planned = nftScript(artifacts, before, !drift && previous > 0);
    lap('read live state and plan the ruleset');
    if (target.exec) {
      loadModules(target, artifacts);
      if (planned.script) {
        const c = target.exec('nft', ['-c', '-f', '-'], planned.script);
        if (c.code !== 0) throw new ApplyError(`the ruleset was rejected by nft -c; nothing was changed:\n${c.stderr.trim()}`, 'check', false);
        steps.push(`nft -c: accepted (${planned.kind})`);
      }
    }
    // Each daemon's own checker on its new files (Kea, unbound): what it refuses never lands.
    if (target.exec) {
      for (const c of runDaemonChecks(servicesToCheck(services, artifacts, before), artifacts, (cmd, args) => target.exec!(cmd, args))) {
        if (!c.ok) throw new ApplyError(`${c.argv.join(' ')} rejected the file for ${c.unit}; nothing was changed:\n${c.output}`, 'check', false);
        steps.push(`${c.argv.join(' ')}: accepted`);
      }
    }
    // Per-device keys may belong to interfaces this apply creates; every other key must exist.
    const keys = [...new Set([...sysctlEntries(sysctlOf(artifacts)).keys(), ...sysctlEntries(sysctlOf(before)).keys()])];
    const liveSysctl = target.exec ? readSysctl(target, keys) : new Map<string, string | null>();
    const isDeviceKey = (k: string) => /(^|[./])conf[./][^/]+[./][^./]+$/.test(k) && !/conf[./](all|default)[./]/.test(k);
    const missing = [...liveSysctl].filter(([k, v]) => v === null && !isDeviceKey(k) && sysctlEntries(sysctlOf(artifacts)).has(k)).map(([k]) => k);
    if (missing.length) throw new ApplyError(`sysctl keys unknown to this kernel: ${missing.join(', ')}; nothing was changed`, 'check', false);
    // Units count too: a generation written by a kairo that did not record its units gets them
    // enabled and started by the next apply even when no file changed.
    const sameUnits = JSON.stringify(prevManifest?.services ?? null) === JSON.stringify(services);
    // Same files and units: only units changed by hand (disabled, stopped, failed) need anything.
    const repairs = previous > 0 && sameUnits ? repairActions(services, liveUnits(target, services.filter((x) => x.enabled).map((x) => x.unit)), []) : [];
    const unchanged = sameUnits && repairs.length === 0 && before.length === artifacts.length && artifacts.every((a) => before.some((b) => b.path === a.path && b.content === a.content && b.mode === a.mode));
    if (unchanged && !drift && !store.pending()) {
      log('no changes');
      return { generation: previous, previous, changed: false, nft: 'unchanged', steps: ['no changes'], services: [] };
    }

    lap('checks');
    // 2. The new generation and the journal, then the changes.
    const sysctlBefore = Object.fromEntries(liveSysctl);
    const forwards = meta.forwards ?? [];
    const gen = store.create(artifacts, { site: meta.site, node: meta.node, sysctlBefore, services, forwards });
    const toGen: GenerationState = { artifacts, services, forwards };
    store.setJournal({ from: previous, to: gen.generation, pid: process.pid, started: new Date().toISOString() });
    log(`generation ${gen.generation} (from ${previous})`);
    lap('store the generation');
    faultPoint('journal');
    let step = 'files';
    try {
      faultPoint('before-change');
      const put = putState(target, toGen, beforeGen, prevManifest?.sysctlBefore ?? {}, 'full', planned);
      const { nft, written } = put;
      steps.push(`files written; nftables ${nft}${drift ? ' (live tables had drifted)' : ''}; interfaces; sysctl`);
      for (const a of put.services) steps.push(formatServiceAction(a));
      for (const f of put.flows ?? []) steps.push(`${f.label} removed: ${f.ended} of its connections ended`);
      if (!put.flows && removedForwards(beforeGen.forwards ?? [], forwards).length) steps.push('conntrack is not installed: connections of the removed forwards go on until they end');
      if (!target.systemctl && services.length && target.kind === 'host') steps.push(`systemd is not running here: ${services.map((x) => x.unit).join(', ')} written, not enabled or started`);
      lap('files, nftables, interfaces, sysctl, units');
      faultPoint('after-change');
      step = 'health';
      const listing = health(target, artifacts, services, written, opts);
      steps.push('health: ok');
      lap('health');
      const pending = opts.confirmSeconds ? { generation: gen.generation, previous: store.pending()?.previous ?? previous, deadline: Date.now() + opts.confirmSeconds * 1000, target: target.spec } : undefined;
      store.saveManifest({ ...store.manifest(gen.generation)!, status: pending ? 'pending' : 'confirmed', nftListing: listing });
      store.setCurrent(gen.generation);
      if (pending) {
        store.setPending(pending);
        const pid = opts.startWatchdog?.(target);
        if (pid) store.setPending({ ...pending, watchdogPid: pid });
        steps.push(`pending: reverts to generation ${pending.previous} at ${new Date(pending.deadline).toISOString()} unless confirmed`);
      } else {
        store.clearPending();
        store.setConfirmed(gen.generation);
      }
      store.clearJournal();
      lap('commit');
      return { generation: gen.generation, previous, changed: true, nft, steps, pending, timings, services: put.services };
    } catch (e) {
      const reason = (e as Error).message;
      log(`${step} failed: ${reason}; reverting to generation ${previous}`);
      try {
        putState(target, beforeGen, toGen, gen.sysctlBefore, 'full', undefined, { log });
        store.setStatus(gen.generation, 'failed', `${step}: ${reason}`);
        store.setCurrent(previous);
        store.clearJournal();
      } catch (e2) {
        // The journal stays: the next kairo command retries the revert.
        throw new ApplyError(`${step} failed (${reason}) and the revert failed too (${(e2 as Error).message}); run 'kairo status' to retry`, step, false);
      }
      throw new ApplyError(`${step} failed: ${reason}; everything was reverted to generation ${previous}`, step, true);
    }
  });
}

/** Makes a pending commit-confirm permanent. */
export function confirm(target: Target, opts: { log?: (s: string) => void } = {}): string {
  return withLock(target, opts, ({ store, messages }) => {
    const p = store.pending();
    if (!p) return messages.length ? `${messages.join('; ')}; nothing to confirm` : 'nothing to confirm';
    store.clearPending();
    store.setStatus(p.generation, 'confirmed');
    store.setConfirmed(p.generation);
    if (p.watchdogPid) {
      try {
        process.kill(p.watchdogPid);
      } catch {
        /* already gone */
      }
    }
    return `generation ${p.generation} confirmed`;
  });
}

/** Back to generation n (default: the one before the current), as a new transaction. */
export function rollback(target: Target, n: number | undefined, opts: ApplyOptions = {}): ApplyResult {
  const store = new Store(target.stateDir);
  const cur = store.current();
  const to = n ?? [...store.generations()].reverse().find((g) => g < cur && ['confirmed', 'applied'].includes(store.manifest(g)?.status ?? ''));
  if (!to || !store.manifest(to)) throw new ApplyError(`no generation ${n ?? 'before ' + cur} to roll back to (generations: ${store.generations().join(', ') || 'none'})`, 'check', false);
  const m = store.manifest(to)!;
  return apply(target, store.artifacts(to), { site: m.site, node: m.node, services: m.services ?? [], forwards: m.forwards ?? [] }, opts);
}

export interface StatusReport {
  current: number;
  confirmed: number;
  pending?: Pending;
  generations: { n: number; status: string; created: string; note?: string }[];
  drift: boolean;
  /** The live generation's units as systemd sees them (where the target has systemd). */
  units: ({ unit: string; wanted: 'enabled' | 'installed' } & LiveUnit)[];
  messages: string[];
}

export function status(target: Target, opts: { log?: (s: string) => void } = {}): StatusReport {
  return withLock(target, opts, ({ store, messages }) => {
    const cur = store.current();
    const m = store.manifest(cur);
    const live = kairoListing(target);
    const services = m?.services ?? [];
    const states = liveUnits(target, services.map((x) => x.unit));
    return {
      current: cur,
      confirmed: store.confirmed(),
      pending: store.pending(),
      generations: store.generations().map((n) => {
        const g = store.manifest(n) as Manifest;
        return { n, status: g.status, created: g.created, note: g.note };
      }),
      drift: m?.nftListing !== undefined && live !== m.nftListing,
      units: services.filter((x) => states.has(x.unit)).map((x) => ({ unit: x.unit, wanted: x.enabled ? 'enabled' as const : 'installed' as const, ...states.get(x.unit)! })),
      messages,
    };
  });
}
