// The drop log's side of the filter table: which rules log through NFLOG, under which short id.
// A logged drop is written as two rules, the log first (`limit ... log group N prefix ...`, no
// verdict) and the drop after it (`counter drop`): in nft a `limit` that is exceeded ends the
// evaluation of *its own rule* only, so a flood that exhausts the log's budget falls through to
// the drop rule and is still dropped and counted; the drop never depends on the limit.
//
// The NFLOG prefix carries a short id that stays the same across edits elsewhere in the file (a
// hash of the config path and the zone pair, not a position), then the pair and the path when
// they fit in nft's 127 bytes as plain ASCII: the JSON lines name the rule by themselves, and
// `kairo logs drops` maps the id back through the applied generation's drop-log.json either way.
import type { FirewallModel } from './model.js';
import { LOG_PREFIX_BYTES } from './model.js';

/** How logged drops are logged (from the drop-log feature); absent: nft's kernel log, as before. */
export interface NflogSpec {
  group: number;
  rate: string;
  burst: number;
}

/** One rule or policy whose drops are logged, on one zone pair. */
export interface DropLogEntry {
  id: string;
  /** The config path kairo puts in the rule's comment: `firewall.policies[wan>router]`, `firewall.rules[ssh]`. */
  path: string;
  name?: string;
  from: string;
  to: string;
  action: string;
  /** The prefix the site wrote (`log: "[WAN_IN-D] "`), shown beside the path. */
  label?: string;
}

/** FNV-1a, 32 bits: pure, stable across Node versions, enough to tell a site's few logged rules apart. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function nflogId(path: string, from: string, to: string): string {
  return `k${fnv1a(`${path}|${from}>${to}`).toString(16).padStart(8, '0')}`;
}

/** `kairo k1a2b3c4d wan>router firewall.policies[wan>router]`, or just `kairo ID` when that does not fit. */
export function nflogPrefix(e: Pick<DropLogEntry, 'id' | 'path' | 'from' | 'to'>): string {
  const full = `kairo ${e.id} ${e.from}>${e.to} ${e.path}`;
  return full.length <= LOG_PREFIX_BYTES && /^[\x20-\x7e]*$/.test(full) && !/["\\$]/.test(full) ? full : `kairo ${e.id}`;
}

/** Every logged drop or reject of the site, per zone pair, in the order the chains hold them. */
export function dropLogEntries(fw: FirewallModel): DropLogEntry[] {
  const out: DropLogEntry[] = [];
  for (const p of fw.pairs) {
    for (const r of p.rules) {
      if (r.log === undefined || r.action === 'accept') continue;
      out.push({ id: nflogId(r.label, p.from, p.to), path: r.label, name: r.name, from: p.from, to: p.to, action: r.action, label: r.log });
    }
    const pol = p.policy;
    if (pol?.log !== undefined && pol.action !== 'accept') out.push({ id: nflogId(pol.label, p.from, p.to), path: pol.label, from: p.from, to: p.to, action: pol.action, label: pol.log });
  }
  return out;
}

/** Whether the site logs any drop at all (the drop log's default). */
export function logsDrops(fw: FirewallModel): boolean {
  return dropLogEntries(fw).length > 0;
}
