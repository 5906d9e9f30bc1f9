// Applying artifacts to a target as one transaction: check everything that can be checked before
// anything changes, keep the previous generation, change files, ruleset, sysctl and interfaces,
// check health, and put everything back as it was if any step fails. A journal on disk lets the
// next run finish the job of a process that was killed half-way.
import type { Artifact } from '../render/artifact.js';
import { KAIRO_TABLES, NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { rulesetDelta } from '../render/nft-delta.js';
import type { Target } from '../targets/types.js';
import { acquireLock } from './lock.js';
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
}

function putState(target: Target, to: Artifact[], from: Artifact[], sysctlBefore: Record<string, string | null>, nftMode: 'delta-ok' | 'full', planned?: { script: string; kind: 'delta' | 'full' | 'unchanged' }): PutResult {
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
  if (!target.exec) return { nft: 'none', written };

  const { script, kind } = planned ?? nftScript(to, from, nftMode === 'delta-ok');
  if (script) {
    const r = target.exec('nft', ['-f', '-'], script);
    if (r.code !== 0) throw new Error(`nft: ${r.stderr.trim()}`);
  }
  const nft = kind;

  if (target.applyNetwork) target.applyNetwork(to, from);

  const want = sysctlEntries(sysctlOf(to));
  for (const [k, v] of Object.entries(sysctlBefore)) if (!want.has(k) && v !== null) want.set(k, v);
  writeSysctl(target, want);
  return { nft, written };
}

/** Reads back what was written, checks kernel state; returns the structure listing for the generation's record. */
function health(target: Target, arts: Artifact[], written: Set<string>, opts: ApplyOptions): string | undefined {
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
  putState(target, store.artifacts(j.from), store.artifacts(j.to), failed?.sysctlBefore ?? {}, 'full');
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
  const cur = store.artifacts(p.generation);
  const m = store.manifest(p.generation);
  putState(target, store.artifacts(p.previous), cur, m?.sysctlBefore ?? {}, 'full');
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

export function apply(target: Target, rendered: Artifact[], meta: { site: string; node: string }, opts: ApplyOptions = {}): ApplyResult {
  const artifacts = rendered.filter((a) => a.install !== false);
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
    const before = store.artifacts(previous);
    const prevManifest = store.manifest(previous);

    // 1. Checks before anything changes. With drift (someone changed kairo's tables by hand) only
    // a full load is safe; otherwise the delta. nft -c checks exactly the script that will run.
    const liveListing = kairoListing(target);
    const drift = prevManifest?.nftListing !== undefined && liveListing !== prevManifest.nftListing;
    const planned = nftScript(artifacts, before, !drift && previous > 0);
    lap('read live state and plan the ruleset');
    if (target.exec) {
      if (planned.script) {
        const c = target.exec('nft', ['-c', '-f', '-'], planned.script);
        if (c.code !== 0) throw new ApplyError(`the ruleset was rejected by nft -c; nothing was changed:\n${c.stderr.trim()}`, 'check', false);
        steps.push(`nft -c: accepted (${planned.kind})`);
      }
    }
    // Per-device keys may belong to interfaces this apply creates; every other key must exist.
    const keys = [...new Set([...sysctlEntries(sysctlOf(artifacts)).keys(), ...sysctlEntries(sysctlOf(before)).keys()])];
    const liveSysctl = target.exec ? readSysctl(target, keys) : new Map<string, string | null>();
    const isDeviceKey = (k: string) => /(^|[./])conf[./][^/]+[./][^./]+$/.test(k) && !/conf[./](all|default)[./]/.test(k);
    const missing = [...liveSysctl].filter(([k, v]) => v === null && !isDeviceKey(k) && sysctlEntries(sysctlOf(artifacts)).has(k)).map(([k]) => k);
    if (missing.length) throw new ApplyError(`sysctl keys unknown to this kernel: ${missing.join(', ')}; nothing was changed`, 'check', false);
    const unchanged = before.length === artifacts.length && artifacts.every((a) => before.some((b) => b.path === a.path && b.content === a.content && b.mode === a.mode));
    if (unchanged && !drift && !store.pending()) {
      log('no changes');
      return { generation: previous, previous, changed: false, nft: 'unchanged', steps: ['no changes'] };
    }

    lap('checks');
    // 2. The new generation and the journal, then the changes.
    const sysctlBefore = Object.fromEntries(liveSysctl);
    const gen = store.create(artifacts, { site: meta.site, node: meta.node, sysctlBefore });
    store.setJournal({ from: previous, to: gen.generation, pid: process.pid, started: new Date().toISOString() });
    log(`generation ${gen.generation} (from ${previous})`);
    lap('store the generation');
    faultPoint('journal');
    let step = 'files';
    try {
      faultPoint('before-change');
      const { nft, written } = putState(target, artifacts, before, prevManifest?.sysctlBefore ?? {}, 'full', planned);
      steps.push(`files written; nftables ${nft}${drift ? ' (live tables had drifted)' : ''}; interfaces; sysctl`);
      lap('files, nftables, interfaces, sysctl');
      faultPoint('after-change');
      step = 'health';
      const listing = health(target, artifacts, written, opts);
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
      return { generation: gen.generation, previous, changed: true, nft, steps, pending, timings };
    } catch (e) {
      const reason = (e as Error).message;
      log(`${step} failed: ${reason}; reverting to generation ${previous}`);
      try {
        putState(target, before, artifacts, gen.sysctlBefore, 'full');
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
  return apply(target, store.artifacts(to), { site: m.site, node: m.node }, opts);
}

export interface StatusReport {
  current: number;
  confirmed: number;
  pending?: Pending;
  generations: { n: number; status: string; created: string; note?: string }[];
  drift: boolean;
  messages: string[];
}

export function status(target: Target, opts: { log?: (s: string) => void } = {}): StatusReport {
  return withLock(target, opts, ({ store, messages }) => {
    const cur = store.current();
    const m = store.manifest(cur);
    const live = kairoListing(target);
    return {
      current: cur,
      confirmed: store.confirmed(),
      pending: store.pending(),
      generations: store.generations().map((n) => {
        const g = store.manifest(n) as Manifest;
        return { n, status: g.status, created: g.created, note: g.note };
      }),
      drift: m?.nftListing !== undefined && live !== m.nftListing,
      messages,
    };
  });
}
