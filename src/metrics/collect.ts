// What the exporter reads on the router, each source on its own so one missing daemon costs only
// its metrics: the ruleset's counters (every kairo rule carries its config path as comment), the
// interfaces' counters, conntrack, Kea's statistics over its control socket, unbound's statistics.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { run } from '../lib/exec.js';
import type { Sample } from './format.js';

type NftRule = { rule?: { family: string; table: string; chain: string; comment?: string; expr?: Record<string, { packets?: number; bytes?: number }>[] } };

/** Per rule with a counter: packets and bytes, labelled by the config path in its comment (bounded by the site). */
export function ruleCounters(): Sample[] {
  const out: Sample[] = [];
  const r = run('nft', ['-j', 'list', 'ruleset']);
  if (r.code !== 0) return out;
  const seen = new Map<string, { packets: number; bytes: number; table: string }>();
  for (const item of (JSON.parse(r.stdout).nftables ?? []) as NftRule[]) {
    const rule = item.rule;
    if (!rule || !rule.table.startsWith('kairo') || !rule.comment) continue;
    const c = rule.expr?.find((e) => 'counter' in e)?.counter;
    if (!c) continue;
    // Several rules may come from one config entry (families, devices): summed under its path.
    const key = `${rule.family} ${rule.table}\u0000${rule.comment}`;
    const prev = seen.get(key) ?? { packets: 0, bytes: 0, table: `${rule.family} ${rule.table}` };
    seen.set(key, { packets: prev.packets + (c.packets ?? 0), bytes: prev.bytes + (c.bytes ?? 0), table: prev.table });
  }
  for (const [key, v] of seen) {
    const path = key.split('\u0000')[1];
    const labels = { path, table: v.table };
    out.push({ name: 'kairo_rule_packets_total', help: 'Packets matched by a kairo rule, by the config path it was made from.', type: 'counter', labels, value: v.packets });
    out.push({ name: 'kairo_rule_bytes_total', help: 'Bytes matched by a kairo rule, by the config path it was made from.', type: 'counter', labels, value: v.bytes });
  }
  return out;
}

export function interfaceCounters(): Sample[] {
  const out: Sample[] = [];
  const base = '/sys/class/net';
  for (const dev of existsSync(base) ? readdirSync(base) : []) {
    if (dev === 'lo') continue;
    const stat = (n: string) => Number(readFileSync(`${base}/${dev}/statistics/${n}`, 'utf8'));
    const labels = { device: dev };
    try {
      out.push(
        { name: 'kairo_interface_receive_bytes_total', help: 'Bytes received by the interface.', type: 'counter', labels, value: stat('rx_bytes') },
        { name: 'kairo_interface_transmit_bytes_total', help: 'Bytes sent by the interface.', type: 'counter', labels, value: stat('tx_bytes') },
        { name: 'kairo_interface_receive_packets_total', help: 'Packets received by the interface.', type: 'counter', labels, value: stat('rx_packets') },
        { name: 'kairo_interface_transmit_packets_total', help: 'Packets sent by the interface.', type: 'counter', labels, value: stat('tx_packets') },
        { name: 'kairo_interface_receive_drops_total', help: 'Packets the interface dropped on receive.', type: 'counter', labels, value: stat('rx_dropped') },
      );
    } catch {
      // A device that went away while being read.
    }
  }
  return out;
}

export function conntrack(): Sample[] {
  const read = (p: string) => (existsSync(p) ? Number(readFileSync(p, 'utf8')) : NaN);
  return [
    { name: 'kairo_conntrack_entries', help: 'Connections tracked now.', type: 'gauge', value: read('/proc/sys/net/netfilter/nf_conntrack_count') },
    { name: 'kairo_conntrack_entries_limit', help: 'The most connections the kernel tracks.', type: 'gauge', value: read('/proc/sys/net/netfilter/nf_conntrack_max') },
  ];
}

/** One command over Kea's control socket (JSON in, JSON out). */
function keaCommand(socket: string, command: string, timeoutMs = 2000): Promise<unknown> {
  return new Promise((resolve) => {
    const s = connect(socket);
    let data = '';
    const done = (v: unknown) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.on('error', () => done(undefined));
    s.on('data', (d) => (data += d));
    s.on('end', () => {
      try {
        done(JSON.parse(data));
      } catch {
        done(undefined);
      }
    });
    s.write(JSON.stringify({ command }));
  });
}

/** Leases per subnet from Kea's own statistics (assigned and total addresses). */
export async function keaLeases(sockets: { family: 4 | 6; path: string }[], subnets: Map<string, string>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const { family, path } of sockets) {
    if (!existsSync(path)) continue;
    const reply = (await keaCommand(path, 'statistic-get-all')) as { arguments?: Record<string, [number, string][]> } | undefined;
    for (const [stat, values] of Object.entries(reply?.arguments ?? {})) {
      const m = /^subnet\[(\d+)\]\.(assigned-addresses|total-addresses|assigned-nas|total-nas|assigned-pds|total-pds)$/.exec(stat);
      if (!m) continue;
      const labels = { family: `ipv${family}`, subnet: subnets.get(`${family}:${m[1]}`) ?? m[1] };
      const name = m[2].startsWith('assigned') ? (m[2] === 'assigned-pds' ? 'kairo_dhcp_delegated_prefixes' : 'kairo_dhcp_leases') : m[2] === 'total-pds' ? 'kairo_dhcp_delegated_prefixes_limit' : 'kairo_dhcp_leases_limit';
      out.push({ name, help: name.endsWith('_limit') ? 'Addresses (or prefixes) the subnet\'s pools can lease.' : 'Leases held now, per subnet.', type: 'gauge', labels, value: Number(values[0]?.[0] ?? NaN) });
    }
  }
  return out;
}

/** unbound's totals (not reset by reading). */
export function unboundStats(conf: string): Sample[] {
  if (!existsSync(conf)) return [];
  const r = run('unbound-control', ['-c', conf, 'stats_noreset'], { timeoutMs: 3000 });
  if (r.code !== 0) return [];
  const kv = new Map(r.stdout.split('\n').map((l) => l.split('=') as [string, string]));
  const n = (k: string) => Number(kv.get(k) ?? NaN);
  return [
    { name: 'kairo_dns_queries_total', help: 'Queries the router\'s resolver answered.', type: 'counter', value: n('total.num.queries') },
    { name: 'kairo_dns_cache_hits_total', help: 'Queries answered from the resolver\'s cache.', type: 'counter', value: n('total.num.cachehits') },
    { name: 'kairo_dns_cache_misses_total', help: 'Queries the resolver had to look up.', type: 'counter', value: n('total.num.cachemiss') },
  ];
}

/** systemd's view of kairo's units (1 active, 0 otherwise); empty where systemd is not PID 1. */
export function serviceStates(): Sample[] {
  if (!existsSync('/run/systemd/system')) return [];
  const r = run('systemctl', ['list-units', 'kairo-*', '--all', '--plain', '--no-legend', '--no-pager']);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [unit, , active] = l.trim().split(/\s+/);
    return { name: 'kairo_service_up', help: 'Whether a unit of kairo\'s is active (1) or not (0).', type: 'gauge' as const, labels: { unit }, value: active === 'active' ? 1 : 0 };
  });
}
