// What `apply` would change, computed against the live target, not against the last apply: the
// files as they are on disk, kairo's tables as the kernel lists them, sysctl values as the kernel
// holds them, and the addresses and routes on the interfaces kairo manages.
//
// Said twice: first in the user's terms (items: forwards, rules, policies, sets, routed hosts,
// services, files, kernel values, each by name), then, for --diff and --json, file by file with
// line diffs (changes).
import { createTwoFilesPatch } from 'diff';
import type { Artifact } from '../render/artifact.js';
import { NFT_PATH, SYSCTL_PATH } from '../render/index.js';
import { run } from '../lib/exec.js';
import { parseCidr } from '../lib/ip.js';
import type { FileState, Target } from '../targets/types.js';
import { networkdToIp } from '../targets/networkd-interpreter.js';
import { Store } from './store.js';
import { generationState, kairoListing, sysctlEntries, unitSteps } from './transaction.js';
import { formatServiceAction, type ServiceAction } from './services.js';
import { flowsOf, removedForwards, type ForwardFlows } from './flows.js';
import type { Service } from '../features/feature.js';
import { compareRulesets, routedHostsOf, type ChangeKind, type ItemKind } from './identities.js';

export type { ChangeKind } from './identities.js';

/** A file, the kernel's ruleset, a sysctl value, an address or a route: what apply touches. */
export interface Change {
  kind: ChangeKind;
  what: 'file' | 'nftables' | 'sysctl' | 'address' | 'route';
  name: string;
  detail?: string;
  /** Unified diff lines (files, ruleset). */
  diff?: string;
}

export type ItemWhat = ItemKind | 'routed host' | 'service' | 'file' | 'nftables' | 'sysctl' | 'address' | 'route';

/** One thing the user named in the site file (or one file, value, address or route), added, changed or removed. */
export interface Item {
  kind: ChangeKind;
  what: ItemWhat;
  name: string;
  detail?: string;
}

export interface Plan {
  /** In the user's terms; what the summary counts. */
  items: Item[];
  /** File by file, with diffs. */
  changes: Change[];
  reloads: string[];
  /** The systemctl steps apply will run, in order (none where the target has no systemd). */
  units: ServiceAction[];
  /** Established connections of removed forwards that apply will end (where conntrack can tell). */
  flows: { label: string; connections: number }[];
  summary: { add: number; change: number; destroy: number };
}

const UNITS_DIR = '/etc/systemd/system/';
const NETWORKD_DIR = '/etc/systemd/network/';

/**
 * The listing the kernel would show for a ruleset: load it into a scratch namespace and list it.
 * It makes a namespace on the machine kairo runs on: only for a target with a kernel (one with
 * `exec`), never for a directory (test/unit/plan.test.ts watches for it).
 */
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

/** `addr/len` as `ip -j addr` reports it (`local`/`prefixlen`): IPv6 lower-case and compressed. */
export function addressKey(text: string): string {
  return parseCidr(text)?.text ?? text;
}

/**
 * A route destination as `ip route` prints it: `default` for /0, a host route without its /32 or
 * /128, a network by its network address, IPv6 lower-case and compressed. networkd files say
 * `198.51.100.11/32`, `2001:DB8::/64` or nothing (a default route); `ip -j route` says
 * `"dst":"198.51.100.11"`, `"dst":"2001:db8::/64"`, `"dst":"default"`.
 */
export function routeDest(dest: string): string {
  if (dest === 'default') return 'default';
  const c = parseCidr(dest, true);
  if (!c) return dest;
  if (c.prefix === 0) return 'default';
  if (c.prefix === (c.family === 4 ? 32 : 128)) return c.addr.toString();
  return c.network;
}

export interface RouteSpec {
  family: 4 | 6;
  dest: string;
  dev: string;
  via?: string;
  /** As the plan names it: the networkd route as ip arguments. */
  name: string;
}

const routeKey = (r: { family: number; dest: string; dev: string }) => `${r.family} ${r.dest} dev ${r.dev}`;

/** The routes networkd files configure. */
export function networkdRoutes(files: readonly Artifact[]): RouteSpec[] {
  return networkdToIp(files)
    .commands.filter((c) => c[0] === 'route')
    .map((c) => {
      const dest = c[2];
      const via = c.includes('via') ? c[c.indexOf('via') + 1] : undefined;
      const family = dest.includes(':') || via?.includes(':') ? 6 : 4;
      return { family, dest: routeDest(dest), dev: c[c.indexOf('dev') + 1], via: via && (parseCidr(via, true)?.addr.toString() ?? via), name: c.slice(2).join(' ') };
    });
}

/** `ip -j route show` and `ip -j -6 route show`: destination and device → gateway. */
export function parseLiveRoutes(json4: string, json6: string): Map<string, { gateway?: string }> {
  const out = new Map<string, { gateway?: string }>();
  for (const [family, text] of [[4, json4], [6, json6]] as const) {
    let list: { dst?: string; dev?: string; gateway?: string }[] = [];
    try {
      list = JSON.parse(text || '[]');
    } catch {
      continue;
    }
    // Multipath routes have no device of their own: kairo renders none.
    for (const r of list) if (r.dst && r.dev) out.set(routeKey({ family, dest: routeDest(r.dst), dev: r.dev }), { gateway: r.gateway });
  }
  return out;
}

/** Routes to add, change (another gateway) and remove: only routes kairo manages (`managed`, the files on the target now) are removed. */
export function compareRoutes(want: readonly RouteSpec[], managed: readonly RouteSpec[], live: Map<string, { gateway?: string }>): Change[] {
  const out: Change[] = [];
  const wanted = new Set(want.map(routeKey));
  for (const w of want) {
    const l = live.get(routeKey(w));
    if (!l) out.push({ kind: '+', what: 'route', name: w.name });
    else if ((l.gateway ?? '') !== (w.via ?? '')) out.push({ kind: '~', what: 'route', name: w.name, detail: `via ${l.gateway ?? '(none)'} → ${w.via ?? '(none)'}` });
  }
  const seen = new Set<string>();
  for (const m of managed) {
    const k = routeKey(m);
    if (wanted.has(k) || seen.has(k) || !live.has(k)) continue;
    seen.add(k);
    out.push({ kind: '-', what: 'route', name: m.name });
  }
  return out;
}

function liveAddresses(target: Target, dev: string): string[] {
  const r = target.exec!('ip', ['-j', 'addr', 'show', 'dev', dev]);
  if (r.code !== 0) return [];
  let info: { addr_info?: { local: string; prefixlen: number; scope: string; dynamic?: boolean }[] } | undefined;
  try {
    info = (JSON.parse(r.stdout || '[]') as (typeof info)[])[0];
  } catch {
    return [];
  }
  // Link-local and dynamic (DHCP, SLAAC) addresses are not kairo's to plan.
  return (info?.addr_info ?? []).filter((a) => a.scope === 'global' && !a.dynamic).map((a) => addressKey(`${a.local}/${a.prefixlen}`));
}

/** Items for the files that are neither the ruleset nor summarised otherwise: units by name, the rest by path. */
function fileItems(changes: Change[]): Item[] {
  return changes
    .filter((c) => c.what === 'file' && c.name !== NFT_PATH)
    .map((c) => (c.name.startsWith(UNITS_DIR) ? { kind: c.kind, what: 'service' as const, name: c.name.slice(UNITS_DIR.length) } : { kind: c.kind, what: 'file' as const, name: c.name, ...(c.kind === '~' && c.detail ? { detail: c.detail } : {}) }));
}

function routedHostItems(live: Map<string, FileState>, planned: Artifact[]): Item[] {
  const before = routedHostsOf([...live].filter(([p]) => p.startsWith(NETWORKD_DIR)).map(([path, f]) => ({ path, content: f.content })));
  const after = routedHostsOf(planned.filter((a) => a.path.startsWith(NETWORKD_DIR)));
  const out: Item[] = [];
  for (const [addr, br] of after) {
    const was = before.get(addr);
    if (was === undefined) out.push({ kind: '+', what: 'routed host', name: addr, detail: `on ${br}` });
    else if (was !== br) out.push({ kind: '~', what: 'routed host', name: addr, detail: `${was} → ${br}` });
  }
  for (const [addr, br] of before) if (!after.has(addr)) out.push({ kind: '-', what: 'routed host', name: addr, detail: `on ${br}` });
  return out;
}

export function computePlan(target: Target, rendered: Artifact[], services: Service[] = [], forwards: ForwardFlows[] = []): Plan {
  const artifacts = rendered.filter((a) => a.install !== false);
  const changes: Change[] = [];
  const store = new Store(target.stateDir);
  const current = generationState(store, store.current());
  const previous = current.artifacts;
  const reloads = new Set<string>();

  // The target's files as they are: every path the plan or the live generation names.
  const live = new Map<string, FileState>();
  for (const p of new Set([...artifacts.map((a) => a.path), ...previous.map((a) => a.path)])) {
    const f = target.readFile(p);
    if (f) live.set(p, f);
  }

  for (const a of artifacts) {
    const cur = live.get(a.path);
    if (!cur) {
      changes.push({ kind: '+', what: 'file', name: a.path, detail: `mode ${a.mode.toString(8)}`, diff: a.sensitive ? '(sensitive content hidden)' : undefined });
      reloads.add(a.reload);
    } else if (cur.content !== a.content || cur.mode !== a.mode) {
      const diff = a.sensitive ? '(sensitive content hidden)' : cur.content !== a.content ? lineDiff(a.path, cur.content, a.content) : undefined;
      changes.push({ kind: '~', what: 'file', name: a.path, detail: cur.mode !== a.mode ? `mode ${cur.mode.toString(8)} → ${a.mode.toString(8)}` : undefined, diff });
      reloads.add(a.reload);
    }
  }
  for (const p of previous) {
    if (!artifacts.some((a) => a.path === p.path) && live.has(p.path)) {
      changes.push({ kind: '-', what: 'file', name: p.path });
      reloads.add(p.reload);
    }
  }

  // The ruleset in the user's terms: the live file (or, without one, the live generation's) against the planned one.
  const items: Item[] = [];
  const plannedNft = artifacts.find((a) => a.path === NFT_PATH)?.content ?? '';
  const liveNft = live.get(NFT_PATH)?.content ?? previous.find((a) => a.path === NFT_PATH)?.content ?? '';
  if (liveNft !== plannedNft) {
    const r = compareRulesets(liveNft, plannedNft);
    items.push(...r.changes);
    if (r.other.added + r.other.removed > 0) {
      items.push({ kind: liveNft === '' ? '+' : plannedNft === '' ? '-' : '~', what: 'ruleset', name: 'other lines', detail: `+${r.other.added} −${r.other.removed}: base chains, zone dispatch, shared NAT rules` });
    }
  }
  const nftFile = changes.find((c) => c.what === 'file' && c.name === NFT_PATH);
  if (nftFile && items.length === 0) items.push({ kind: nftFile.kind, what: 'file', name: NFT_PATH, ...(nftFile.detail ? { detail: nftFile.detail } : {}) });
  items.push(...routedHostItems(live, artifacts));
  items.push(...fileItems(changes));

  if (target.exec) {
    const nft = artifacts.find((a) => a.path === NFT_PATH)?.content;
    const liveListing = kairoListing(target, true) ?? '';
    const want = nft === undefined ? '' : expectedListing(nft);
    if (want === undefined) {
      const c: Change = { kind: '~', what: 'nftables', name: 'kairo tables', detail: 'the planned ruleset does not load (see kairo apply for nft\'s message)' };
      changes.push(c);
      items.push({ kind: c.kind, what: c.what, name: c.name, detail: c.detail });
    } else if (liveListing !== want) {
      const kind = liveListing === '' ? '+' : want === '' ? '-' : '~';
      changes.push({ kind, what: 'nftables', name: 'kairo tables (live)', diff: lineDiff('ruleset', liveListing, want) });
      reloads.add('nftables');
      // The file says what changes; when it does not (the kernel's tables differ from the file), say so.
      if (!nftFile) items.push({ kind, what: 'nftables', name: 'kairo tables (live)', detail: liveListing === '' ? 'not loaded' : 'differ from the ruleset file (changed outside kairo?)' });
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
    for (const [dev, wantAddrs] of byDev) {
      const have = liveAddresses(target, dev);
      const wanted = wantAddrs.map(addressKey);
      wantAddrs.forEach((w, i) => {
        if (!have.includes(wanted[i])) changes.push({ kind: '+', what: 'address', name: `${w} on ${dev}` });
      });
      for (const h of have) if (!wanted.includes(h)) changes.push({ kind: '-', what: 'address', name: `${h} on ${dev}` });
    }
    // Routes: the planned ones against the kernel's, and the ones kairo manages now (the networkd
    // files on the target, and the live generation's) that the plan no longer has.
    const r4 = target.exec('ip', ['-j', 'route', 'show', 'table', 'main']);
    const r6 = target.exec('ip', ['-j', '-6', 'route', 'show', 'table', 'main']);
    const liveRoutes = parseLiveRoutes(r4.code === 0 ? r4.stdout : '[]', r6.code === 0 ? r6.stdout : '[]');
    const liveNetworkd: Artifact[] = [...live]
      .filter(([p]) => p.startsWith(NETWORKD_DIR))
      .map(([path, f]) => ({ path, content: f.content, mode: f.mode, owner: 'interfaces', reload: 'networkd' }));
    const managed = [...networkdRoutes(liveNetworkd), ...networkdRoutes(previous)];
    changes.push(...compareRoutes(networkdRoutes(artifacts), managed, liveRoutes));
    if (changes.some((c) => c.what === 'address' || c.what === 'route')) reloads.add('networkd');
    for (const c of changes) if (c.what === 'sysctl' || c.what === 'address' || c.what === 'route') items.push({ kind: c.kind, what: c.what, name: c.name, ...(c.detail ? { detail: c.detail } : {}) });
  }

  // Units: from the files on the target (not the last generation's: a hand edit counts) to the plan's.
  const liveFiles: Artifact[] = [...live].map(([path, f]) => ({ path, content: f.content, mode: f.mode, owner: 'live', reload: 'none' }));
  const units = unitSteps(target, { artifacts: liveFiles, services: current.services }, { artifacts, services });
  const flows = removedForwards(current.forwards ?? [], forwards).flatMap((f) => {
    const n = flowsOf(target, f)?.length;
    return n ? [{ label: f.label, connections: n }] : [];
  });
  const count = (k: ChangeKind) => items.filter((c) => c.kind === k).length;
  return { items, changes, reloads: [...reloads].filter((r) => r !== 'none').sort(), units, flows, summary: { add: count('+'), change: count('~'), destroy: count('-') } };
}

const ORDER: ItemWhat[] = ['forward', 'rule', 'policy', 'set', 'nat', 'ruleset', 'routed host', 'service', 'file', 'nftables', 'sysctl', 'address', 'route'];
const PLURAL: Partial<Record<ItemWhat, string>> = { policy: 'policies', nat: 'NAT rules', ruleset: 'ruleset parts', 'routed host': 'routed hosts', address: 'addresses', sysctl: 'sysctl values', nftables: 'nftables parts' };
const noun = (what: ItemWhat, n: number) => (n === 1 ? (what === 'nat' ? 'NAT rule' : what) : (PLURAL[what] ?? `${what}s`));
/** More of one kind and change than this are one line: `- 100 forwards: a, b, c, … (97 more)`. */
const GROUP_OVER = 5;
const SHOWN = 3;

/** The name inside a config path's brackets (`nat.forwards[web]` → `web`, `firewall.rules[3]` → `[3]`), a set's name, else the name. */
export function shortName(name: string): string {
  const m = /^[a-z][\w.-]*\[([^\]]*)\]$/.exec(name);
  if (m) return /^\d+$/.test(m[1]) ? `[${m[1]}]` : m[1];
  const s = /^sets\.(.+)$/.exec(name);
  return s ? s[1] : name;
}

/** The items, grouped: one line each, or one line for a long run of the same kind and change. */
export function formatItems(items: readonly Item[]): string[] {
  const lines: string[] = [];
  for (const what of ORDER) {
    for (const kind of ['+', '~', '-'] as const) {
      const group = items.filter((i) => i.what === what && i.kind === kind);
      if (group.length === 0) continue;
      if (group.length > GROUP_OVER) {
        const names = group.slice(0, SHOWN).map((i) => shortName(i.name)).join(', ');
        lines.push(`${kind} ${group.length} ${noun(what, group.length)}: ${names}, … (${group.length - SHOWN} more)`);
      } else for (const i of group) lines.push(`${kind} ${noun(what, 1)} ${i.name}${i.detail ? `  (${i.detail})` : ''}`);
    }
  }
  return lines;
}

export function formatPlan(plan: Plan, showDiffs = false): string {
  if (plan.changes.length === 0 && plan.items.length === 0 && plan.units.length === 0 && plan.flows.length === 0) return 'No changes. The target matches the site.';
  const lines: string[] = formatItems(plan.items);
  if (showDiffs) {
    lines.push('', 'Differences, file by file:');
    for (const c of plan.changes) {
      lines.push(`${c.kind} ${c.what} ${c.name}${c.detail ? `  (${c.detail})` : ''}`);
      if (c.diff) lines.push(...c.diff.split('\n').filter((l) => l && !l.startsWith('===')).map((l) => `    ${l}`));
    }
  }
  if (plan.reloads.length) lines.push('', `reload: ${plan.reloads.join(', ')}`);
  if (plan.units.length) lines.push('', 'systemd:', ...plan.units.map((a) => `  ${formatServiceAction(a)}`));
  if (plan.flows.length) lines.push('', 'connections:', ...plan.flows.map((f) => `  ${f.label} is removed: its ${f.connections} established connection${f.connections === 1 ? '' : 's'} will be ended`));
  lines.push('', `Plan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.destroy} to destroy.`);
  if (!showDiffs && plan.changes.some((c) => c.diff)) lines.push('(--diff shows the differences line by line)');
  return lines.join('\n');
}
