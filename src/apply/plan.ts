// What `apply` would change, computed against the live target, not against the last apply: the
// files as they are on disk, kairo's tables as the kernel lists them, sysctl values as the kernel
// holds them, and the addresses and routes on the interfaces kairo manages.
import { createTwoFilesPatch } from 'diff';
import type { Artifact } from '../render/artifact.js';
import { NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { run } from '../lib/exec.js';
import type { Target } from '../targets/types.js';
import { networkdToIp } from '../targets/networkd-interpreter.js';
import { Store } from './store.js';
import { kairoListing, sysctlEntries } from './transaction.js';

export type ChangeKind = '+' | '~' | '-';

export interface Change {
  kind: ChangeKind;
  what: 'file' | 'nftables' | 'sysctl' | 'address' | 'route';
  name: string;
  detail?: string;
  /** Unified diff lines (files, ruleset). */
  diff?: string;
}

export interface Plan {
  changes: Change[];
  reloads: string[];
  summary: { add: number; change: number; destroy: number };
}

/** The listing the kernel would show for a ruleset: load it into a scratch namespace and list it. */
export function expectedListing(nft: string): string | undefined {
  const ns = `kairo-plan-${process.pid}`;
  run('ip', ['netns', 'del', ns]);
  if (run('ip', ['netns', 'add', ns]).code !== 0) return undefined;
  try {
    if (run('nft', ['-f', '-'], { netns: ns, input: nft, timeoutMs: 120_000 }).code !== 0) return undefined;
    const parts: string[] = [];
    for (const t of ['inet kairo', 'ip kairo_nat', 'ip6 kairo_nat']) {
      const r = run('nft', ['list', 'table', ...t.split(' ')], { netns: ns });
      if (r.code === 0) parts.push(r.stdout.replace(/counter packets \d+ bytes \d+/g, 'counter'));
    }
    return parts.join('');
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}

function lineDiff(name: string, a: string, b: string): string {
  return createTwoFilesPatch(`live ${name}`, `planned ${name}`, a, b, undefined, undefined, { context: 2 })
    .split('\n')
    .slice(2)
    .join('\n');
}

function liveAddresses(target: Target, dev: string): string[] {
  const r = target.exec!('ip', ['-j', 'addr', 'show', 'dev', dev]);
  if (r.code !== 0) return [];
  const info = (JSON.parse(r.stdout || '[]') as { addr_info: { local: string; prefixlen: number; scope: string; dynamic?: boolean }[] }[])[0];
  // Link-local and dynamic (DHCP, SLAAC) addresses are not kairo's to plan.
  return (info?.addr_info ?? []).filter((a) => a.scope === 'global' && !a.dynamic).map((a) => `${a.local}/${a.prefixlen}`);
}

export function computePlan(target: Target, rendered: Artifact[]): Plan {
  const artifacts = rendered.filter((a) => a.install !== false);
  const changes: Change[] = [];
  const store = new Store(target.stateDir);
  const previous = store.artifacts(store.current());
  const reloads = new Set<string>();

  for (const a of artifacts) {
    const live = target.readFile(a.path);
    if (!live) {
      changes.push({ kind: '+', what: 'file', name: a.path, detail: `mode ${a.mode.toString(8)}`, diff: a.sensitive ? '(sensitive content hidden)' : undefined });
      reloads.add(a.reload);
    } else if (live.content !== a.content || live.mode !== a.mode) {
      const diff = a.sensitive ? '(sensitive content hidden)' : live.content !== a.content ? lineDiff(a.path, live.content, a.content) : undefined;
      changes.push({ kind: '~', what: 'file', name: a.path, detail: live.mode !== a.mode ? `mode ${live.mode.toString(8)} → ${a.mode.toString(8)}` : undefined, diff });
      reloads.add(a.reload);
    }
  }
  for (const p of previous) {
    if (!artifacts.some((a) => a.path === p.path) && target.readFile(p.path)) {
      changes.push({ kind: '-', what: 'file', name: p.path });
      reloads.add(p.reload);
    }
  }

  if (target.exec) {
    const nft = artifacts.find((a) => a.path === NFT_PATH)?.content;
    const live = kairoListing(target, true) ?? '';
    const want = nft === undefined ? '' : expectedListing(nft);
    if (want === undefined) changes.push({ kind: '~', what: 'nftables', name: 'kairo tables', detail: 'the planned ruleset does not load (see kairo apply for nft\'s message)' });
    else if (live !== want) {
      changes.push({ kind: live === '' ? '+' : want === '' ? '-' : '~', what: 'nftables', name: 'kairo tables (live)', diff: lineDiff('ruleset', live, want) });
      reloads.add('nftables');
    }
    const wantSysctl = sysctlEntries(artifacts.find((a) => a.path === SYSCTL_PATH)?.content);
    for (const [k, v] of wantSysctl) {
      const r = target.exec('sysctl', ['-n', k]);
      const cur = r.code === 0 ? r.stdout.trim() : undefined;
      if (cur !== v) {
        changes.push({ kind: cur === undefined ? '+' : '~', what: 'sysctl', name: k, detail: `${cur ?? '(absent)'} → ${v}` });
        reloads.add('sysctl');
      }
    }
    // Addresses on the devices the networkd files name.
    const nd = networkdToIp(artifacts);
    const byDev = new Map<string, string[]>();
    for (const c of nd.commands.filter((x) => x[0] === 'addr')) {
      const dev = c[c.indexOf('dev') + 1];
      byDev.set(dev, [...(byDev.get(dev) ?? []), c[2]]);
    }
    for (const [dev, want4] of byDev) {
      const have = liveAddresses(target, dev);
      const norm = (s: string) => s.replace(/\/(\d+)$/, '/$1');
      for (const w of want4) if (!have.includes(norm(w))) changes.push({ kind: '+', what: 'address', name: `${w} on ${dev}` });
      for (const h of have) if (!want4.includes(h)) changes.push({ kind: '-', what: 'address', name: `${h} on ${dev}` });
    }
    for (const c of nd.commands.filter((x) => x[0] === 'route')) {
      const dev = c[c.indexOf('dev') + 1];
      const dest = c[2];
      const r = target.exec('ip', ['route', 'show', dest === 'default' ? 'default' : dest, 'dev', dev]);
      const r6 = dest === 'default' || dest.includes(':') ? target.exec('ip', ['-6', 'route', 'show', dest, 'dev', dev]) : undefined;
      if (!(r.stdout.trim() || r6?.stdout.trim())) changes.push({ kind: '+', what: 'route', name: c.slice(2).join(' ') });
    }
    if (changes.some((c) => c.what === 'address' || c.what === 'route')) reloads.add('networkd');
  }

  const count = (k: ChangeKind) => changes.filter((c) => c.kind === k).length;
  return { changes, reloads: [...reloads].filter((r) => r !== 'none').sort(), summary: { add: count('+'), change: count('~'), destroy: count('-') } };
}

export function formatPlan(plan: Plan, showDiffs = true): string {
  if (plan.changes.length === 0) return 'No changes. The target matches the site.';
  const lines: string[] = [];
  for (const c of plan.changes) {
    lines.push(`${c.kind} ${c.what} ${c.name}${c.detail ? `  (${c.detail})` : ''}`);
    if (showDiffs && c.diff) lines.push(...c.diff.split('\n').filter((l) => l && !l.startsWith('===')).map((l) => `    ${l}`));
  }
  if (plan.reloads.length) lines.push('', `reload: ${plan.reloads.join(', ')}`);
  lines.push('', `Plan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.destroy} to destroy.`);
  return lines.join('\n');
}
