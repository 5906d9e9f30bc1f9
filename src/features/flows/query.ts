// `kairo flows`: what to ask nfdump and how to read its answer. Pure (no I/O, no clock): the CLI
// (src/cli/flows.ts) runs the argv where the collector's files are and passes the time in.
// nfdump 1.7.1 prints JSON records (`-o json`); with -q they come without the enclosing
// brackets, and "No matching flows" stands in for none, so the text is read leniently.
import { parseAddress } from '../../lib/ip.js';

export interface FlowRow {
  /** First and last packet, as nfdump prints them (the collector host's local time, ms). */
  first: string;
  last: string;
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  packets: number;
  bytes: number;
}

export interface FlowQuery {
  top: number;
  host?: string;
  port?: number;
  /** Seconds: only flows whose last packet is this recent. */
  since?: number;
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmpv6', 132: 'sctp' };

/** A problem with the query in the user's words, or undefined. */
export function checkQuery(q: FlowQuery): string | undefined {
  if (!Number.isInteger(q.top) || q.top < 1) return `--top ${q.top}: give a number of flows, 1 or more`;
  if (q.host !== undefined && !parseAddress(q.host)) return `--host ${q.host}: give an IPv4 or IPv6 address, e.g. 10.0.0.5`;
  if (q.port !== undefined && (!Number.isInteger(q.port) || q.port < 1 || q.port > 65535)) return `--port ${q.port}: give a port between 1 and 65535`;
  return undefined;
}

/** nfdump's filter for the query (values checked by checkQuery, so nothing else gets in). */
export function nfdumpFilter(q: FlowQuery): string {
  return [q.host && `host ${q.host}`, q.port && `port ${q.port}`].filter(Boolean).join(' and ');
}

/**
 * Every file of the collector's directory (-R), records of one connection merged (-a: the same
 * 5-tuple split by rotation or softflowd's active timeout), as JSON, without header lines.
 */
export function nfdumpArgv(dir: string, q: FlowQuery): string[] {
  const filter = nfdumpFilter(q);
  return ['nfdump', '-R', dir, '-q', '-a', '-o', 'json', ...(filter ? [filter] : [])];
}

/** nfdump's JSON records as rows. */
export function parseNfdumpJson(text: string): FlowRow[] {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return [];
  const records = JSON.parse(`[${text.slice(start, end + 1)}]`) as Record<string, unknown>[];
  return records.filter((r) => r.type === undefined || r.type === 'FLOW').map((r) => {
    const proto = Number(r.proto);
    const row: FlowRow = {
      first: String(r.first ?? ''), last: String(r.last ?? ''),
      proto: PROTO[proto] ?? String(proto),
      src: String(r.src4_addr ?? r.src6_addr ?? ''), dst: String(r.dst4_addr ?? r.dst6_addr ?? ''),
      packets: Number(r.in_packets ?? 0), bytes: Number(r.in_bytes ?? 0),
    };
    if (typeof r.src_port === 'number') row.sport = r.src_port;
    if (typeof r.dst_port === 'number') row.dport = r.dst_port;
    return row;
  });
}

/** nfdump's local time text ("2026-11-22T10:50:55.400") as epoch ms, read as local time. */
export function localTime(text: string): number {
  return new Date(text.replace(' ', 'T')).getTime();
}

/** The query's window and order on parsed rows: most bytes first, `top` of them. */
export function selectFlows(rows: FlowRow[], q: FlowQuery, now: number): FlowRow[] {
  const from = q.since === undefined ? -Infinity : now - q.since * 1000;
  return rows.filter((r) => localTime(r.last) >= from).sort((a, b) => b.bytes - a.bytes || a.first.localeCompare(b.first)).slice(0, q.top);
}

/** Top talkers: bytes and packets per address (sent plus received), most first. */
export function talkers(rows: FlowRow[], top: number): { host: string; bytes: number; packets: number; flows: number }[] {
  const by = new Map<string, { host: string; bytes: number; packets: number; flows: number }>();
  for (const r of rows) {
    for (const h of new Set([r.src, r.dst])) {
      const t = by.get(h) ?? { host: h, bytes: 0, packets: 0, flows: 0 };
      t.bytes += r.bytes;
      t.packets += r.packets;
      t.flows += 1;
      by.set(h, t);
    }
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes || a.host.localeCompare(b.host)).slice(0, top);
}

const endpoint = (a: string, p?: number) => (p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/** A fixed-width table of rows, for people. */
export function formatFlows(rows: FlowRow[]): string {
  if (rows.length === 0) return 'no flows (records show once softflowd exported them and nfcapd closed their file)';
  const lines = [['first', 'last', 'proto', 'source', 'destination', 'packets', 'bytes'],
    ...rows.map((r) => [r.first.replace('T', ' '), r.last.replace('T', ' '), r.proto, endpoint(r.src, r.sport), endpoint(r.dst, r.dport), String(r.packets), String(r.bytes)])];
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i >= 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd()).join('\n');
}
