// Reading the drop log back: one JSON line of ulogd's JSON plugin and the generation's id map
// (./render.ts mapFile) into what `kairo logs drops` prints. Pure: text in, records out.
import type { DropLogEntry } from '../firewall/nflog.js';

export type DropMap = Record<string, Omit<DropLogEntry, 'id'>>;

export interface DropRecord {
  /** Seconds since the epoch (the kernel's time of the packet). */
  time: number;
  timestamp: string;
  in: string;
  out: string;
  src: string;
  dst: string;
  proto: string;
  sport?: number;
  dport?: number;
  id?: string;
  path?: string;
  name?: string;
  from?: string;
  to?: string;
  action?: string;
}

const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 47: 'gre', 50: 'esp' };

export function parseMap(text: string | undefined): DropMap {
  if (!text) return {};
  try {
    return (JSON.parse(text) as { entries?: DropMap }).entries ?? {};
  } catch {
    return {};
  }
}

/** A line of the log as a record; undefined for a line that is not one of kairo's (another prefix, a torn write). */
export function parseDropLine(line: string, map: DropMap): DropRecord | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const prefix = typeof j['oob.prefix'] === 'string' ? j['oob.prefix'] : '';
  const m = /^kairo (k[0-9a-f]{8})(?: (\S+)>(\S+) (.*))?$/.exec(prefix);
  if (!m) return undefined;
  // The map of the generation wins; the prefix's own pair and path stand in for an id it lacks.
  const e = map[m[1]] ?? (m[4] ? { path: m[4], from: m[2], to: m[3], action: 'drop' } : undefined);
  const num = (k: string) => (typeof j[k] === 'number' ? (j[k] as number) : undefined);
  const p = num('ip.protocol') ?? num('ip6.nexthdr');
  return {
    time: num('oob.time.sec') ?? 0,
    timestamp: String(j.timestamp ?? ''),
    in: String(j['oob.in'] ?? ''),
    out: String(j['oob.out'] ?? ''),
    src: String(j.src_ip ?? ''),
    dst: String(j.dest_ip ?? ''),
    proto: p === undefined ? '?' : PROTOS[p] ?? String(p),
    sport: num('src_port'),
    dport: num('dest_port'),
    id: m[1],
    ...(e ? { path: e.path, name: e.name, from: e.from, to: e.to, action: e.action } : {}),
  };
}

export function formatDrop(r: DropRecord): string {
  const port = r.dport !== undefined ? `/${r.dport}` : '';
  const dev = `${r.in || '-'}→${r.out || '-'}`;
  const pair = r.from ? `${r.from}>${r.to}` : '?';
  const what = r.path ? `${r.path}${r.name ? ` ${r.name}` : ''}` : `unknown rule ${r.id} (not in this generation's map)`;
  return `${r.timestamp}  ${dev}  ${r.src} → ${r.dst} ${r.proto}${port}  ${pair}  ${r.action ?? 'drop'} by ${what}`;
}
