// Data-plane figures: iperf3 TCP throughput through a router namespace, with the sender's TSO/GSO
// off so that per-packet cost shows. Traffic comes from the WAN side to a port forward (DNAT) to a
// LAN server, the path where the forwards map, the blocklist and the zone dispatch all apply.
//   (a) no ruleset            routing only
//   (b) example ruleset       examples/cloud-nat-instance.yaml (its port mapping 8001 → 10.0.1.1:80)
//   (c) large generated site  10 000 forwards, 1 000 routed hosts, 100 000 blocklist entries (kairo)
//   (d) the same policy as linear iptables rules, the way the seeds write them: blocklist entries
//       inserted at the top of FORWARD one per rule, one DNAT rule per forward
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileSite } from '../src/pipeline.js';
import { must, run } from '../src/lib/exec.js';
import { generatedSite, type SiteSize } from './sites.js';

const NS = { client: 'kb-dp-client', router: 'kb-dp-router', server: 'kb-dp-server' };

interface Topology {
  wanDev: string;
  lanDev: string;
  clientAddr: string; // with prefix
  routerWan: string;
  routerLan: string;
  serverAddr: string;
  serverGw: string;
  /** Where the client connects: the forwarded public address and port, or the server directly. */
  connect: [string, number];
  serverPort: number;
  clientRoute?: string[];
}

function cleanup(): void {
  for (const ns of Object.values(NS)) {
    for (const pid of run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)) run('kill', ['-KILL', pid]);
    run('ip', ['netns', 'del', ns]);
  }
}

function build(t: Topology): void {
  cleanup();
  for (const ns of Object.values(NS)) {
    must('ip', ['netns', 'add', ns]);
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  must('ip', ['-n', NS.client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', t.wanDev, 'netns', NS.router]);
  must('ip', ['-n', NS.server, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', t.lanDev, 'netns', NS.router]);
  must('ip', ['-n', NS.client, 'addr', 'add', t.clientAddr, 'dev', 'eth0']);
  must('ip', ['-n', NS.client, 'link', 'set', 'eth0', 'up']);
  must('ip', ['-n', NS.server, 'addr', 'add', t.serverAddr, 'dev', 'eth0']);
  must('ip', ['-n', NS.server, 'link', 'set', 'eth0', 'up']);
  must('ip', ['-n', NS.server, 'route', 'add', 'default', 'via', t.serverGw]);
  must('ip', ['-n', NS.router, 'addr', 'add', t.routerWan, 'dev', t.wanDev]);
  must('ip', ['-n', NS.router, 'addr', 'add', t.routerLan, 'dev', t.lanDev]);
  must('ip', ['-n', NS.router, 'link', 'set', t.wanDev, 'up']);
  must('ip', ['-n', NS.router, 'link', 'set', t.lanDev, 'up']);
  if (t.clientRoute) must('ip', ['-n', NS.client, 'route', 'add', ...t.clientRoute]);
  must('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], { netns: NS.router });
  // Per-packet cost: the sender hands the kernel MTU-sized packets, not 64 KB super-packets.
  must('ethtool', ['-K', 'eth0', 'tso', 'off', 'gso', 'off'], { netns: NS.client });
}

function iperf(t: Topology): number {
  const server = must('sh', ['-c', `iperf3 -s -1 -D -p ${t.serverPort} -I /tmp/kb-dp-iperf.pid; echo ok`], { netns: NS.server });
  void server;
  run('sleep', ['0.3']);
  const out = must('iperf3', ['-c', t.connect[0], '-p', String(t.connect[1]), '-t', '4', '-O', '1', '-J'], { netns: NS.client, timeoutMs: 30_000 });
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

const generatedTopo: Topology = {
  wanDev: 'wan0', lanDev: 'lan0', clientAddr: '192.0.2.1/24', routerWan: '192.0.2.2/24', routerLan: '10.0.0.1/16',
  serverAddr: '10.0.0.2/16', serverGw: '10.0.0.1', connect: ['192.0.2.2', 1024], serverPort: 80,
};

export function linearIptables(size: SiteSize): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  for (let i = 0; i < size.forwards; i++) {
    const proto = i % 2 ? 'udp' : 'tcp';
    lines.push(`-A PREROUTING -i wan0 -p ${proto} --dport ${1024 + i} -j DNAT --to-destination 10.0.${((i + 2) >> 8) & 255}.${(i + 2) & 255}:${80 + (i % 1000)}`);
  }
  lines.push('-A POSTROUTING -o wan0 -s 10.0.0.0/16 -j MASQUERADE', 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]');
  // `iptables -I FORWARD -s $ip -j DROP` for each entry: every packet walks the list.
  for (let i = 0; i < size.blocklist; i++) lines.push(`-A FORWARD -s 100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255} -j DROP`);
  lines.push('-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT');
  for (let h = 0; h < size.routedHosts; h++) lines.push(`-A FORWARD -i wan0 -d 198.18.${((h + 1) >> 8) & 255}.${(h + 1) & 255} -j ACCEPT`);
  lines.push('-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT', '-A FORWARD -i lan0 -o wan0 -j ACCEPT', 'COMMIT', '');
  return lines.join('\n');
}

export interface DataplaneFigure {
  label: string;
  gbps: number[];
  median: number;
}

export function dataplaneBench(runs: number, log: (s: string) => void): DataplaneFigure[] {
  const large: SiteSize = { forwards: 10000, routedHosts: 1000, blocklist: 100000 };
  const gen = generatedSite(large);
  const largeNft = compileSite(gen.text, 'bench.yaml', { readFile: (p) => gen.files[p] }).nodes[0].artifacts.find((a) => a.reload === 'nftables')!.content;
  const exampleNft = compileSite(readFileSync(join(import.meta.dirname, '..', 'examples', 'cloud-nat-instance.yaml'), 'utf8')).nodes[0].artifacts.find((a) => a.reload === 'nftables')!.content;
  const cloudTopo: Topology = {
    wanDev: 'eth0', lanDev: 'eth1', clientAddr: '10.0.0.254/24', routerWan: '10.0.0.1/24', routerLan: '10.0.1.254/24',
    serverAddr: '10.0.1.1/24', serverGw: '10.0.1.254', connect: ['10.0.0.1', 8001], serverPort: 80,
  };
  const variants: [string, Topology, () => void][] = [
    ['(a) no ruleset', { ...generatedTopo, connect: ['10.0.0.2', 80], clientRoute: ['10.0.0.0/16', 'via', '192.0.2.2'] }, () => {}],
    ['(b) example ruleset (cloud-nat-instance)', cloudTopo, () => must('nft', ['-f', '-'], { netns: NS.router, input: exampleNft })],
    ['(c) large site, kairo (sets, maps, vmaps)', generatedTopo, () => must('nft', ['-f', '-'], { netns: NS.router, input: largeNft, timeoutMs: 120_000 })],
    ['(d) same policy, linear iptables rules', generatedTopo, () => must('iptables-restore', [], { netns: NS.router, input: linearIptables(large), timeoutMs: 600_000 })],
  ];
  // Rounds interleave the variants, so a slow minute of this shared machine hurts all of them alike.
  const out: DataplaneFigure[] = variants.map(([label]) => ({ label, gbps: [], median: 0 }));
  try {
    for (let round = 0; round < runs; round++) {
      variants.forEach(([label, topo, load], k) => {
        build(topo);
        const t0 = performance.now();
        load();
        if (round === 0) log(`${label}: ruleset loaded in ${(performance.now() - t0).toFixed(0)} ms`);
        out[k].gbps.push(iperf(topo));
      });
    }
  } finally {
    cleanup();
  }
  for (const f of out) f.median = [...f.gbps].sort((a, b) => a - b)[Math.floor(f.gbps.length / 2)];
  return out;
}
