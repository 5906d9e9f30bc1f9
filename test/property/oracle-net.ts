// Namespaces for the tracer oracle: a router holding a site's ruleset and sysctl, and one host per
// link with the link's .2 address (and the uplink's gateway address), default routes to the router.
import type { NodeOutput } from '../../src/pipeline.js';
import { NFT_PATH, SYSCTL_PATH } from '../../src/render/ruleset.js';
import { AGENT } from '../../src/lab/run.js';
import { must, run } from '../../src/lib/exec.js';

const PREFIX = `kto${process.pid % 10000}`;

export interface Host {
  ns: string;
  dev: string;
  v4?: string;
  v6?: string;
}

export const OBSERVE = (fam: 'ip' | 'ip6', port: number) => `table inet observe {
  chain in {
    type filter hook input priority 100; policy accept;
    meta l4proto { tcp, udp } th dport ${port} counter
    ${fam === 'ip' ? 'icmp type echo-request' : 'icmpv6 type echo-request'} counter
  }
}
`;

export function build(node: NodeOutput): { router: string; hosts: Map<string, Host> } {
  const router = `${PREFIX}-r`;
  const hosts = new Map<string, Host>();
  run('ip', ['netns', 'del', router]);
  must('ip', ['netns', 'add', router]);
  // Before any link exists: DAD would keep link-local addresses tentative for a second, and a
  // forwarded packet's neighbour solicitation needs the router's link-local address.
  const noDad = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
  must('sysctl', ['-q', '-w', ...noDad], { netns: router });
  const rcmds: string[] = ['link set lo up'];
  for (const [k, i] of node.model.interfaces.entries()) {
    const ns = `${PREFIX}-h${k}`;
    run('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', ns]);
    must('sysctl', ['-q', '-w', ...noDad], { netns: ns });
    must('ip', ['-n', router, 'link', 'add', i.device, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    const a4 = i.ipv4[0];
    const a6 = i.ipv6[0];
    const h: Host = { ns, dev: i.device };
    const hcmds = ['link set lo up', 'link set eth0 up'];
    if (a4) {
      rcmds.push(`addr add ${a4.text} dev ${i.device}`);
      h.v4 = a4.network.replace(/\.0\/\d+$/, '.2');
      hcmds.push(`addr add ${h.v4}/${a4.prefix} dev eth0`, `route add default via ${a4.addr.toString()}`);
      if (i.gateway4) hcmds.push(`addr add ${i.gateway4}/${a4.prefix} dev eth0`);
    }
    if (a6) {
      rcmds.push(`addr add ${a6.text} dev ${i.device} nodad`);
      h.v6 = a6.network.replace(/::\/\d+$/, '::2');
      hcmds.push(`addr add ${h.v6}/${a6.prefix} dev eth0 nodad`, `route add default via ${a6.addr.toString()}`);
    }
    rcmds.push(`link set ${i.device} up`);
    must('ip', ['-n', ns, '-batch', '-'], { input: hcmds.join('\n') + '\n' });
    hosts.set(i.device, h);
  }
  must('ip', ['-n', router, '-batch', '-'], { input: rcmds.join('\n') + '\n' });
  const gw = node.model.interfaces.find((i) => i.gateway4);
  if (gw) must('ip', ['-n', router, 'route', 'replace', 'default', 'via', gw.gateway4!]);
  // Neighbours resolved up front (the router's own pings): the first forwarded packet to a
  // neighbour not yet known waits about a second for it, longer than a probe waits.
  for (const h of hosts.values()) for (const addr of [h.v4, h.v6]) if (addr) run('ping', ['-c', '1', '-W', '1', addr], { netns: router });
  must('nft', ['-f', '-'], { netns: router, input: node.artifacts.find((a) => a.path === NFT_PATH)!.content });
  must('sysctl', ['-q', '-e', '-p', '-'], { netns: router, input: node.artifacts.find((a) => a.path === SYSCTL_PATH)!.content });
  return { router, hosts };
}

export function teardown(): void {
  for (const ns of run('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith(`${PREFIX}-`))) {
    for (const pid of run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)) run('kill', ['-KILL', pid]);
    run('ip', ['netns', 'del', ns]);
  }
}

export const counters = (ns: string) => run('nft', ['list', 'table', 'inet', 'observe'], { netns: ns }).stdout.match(/packets \d+/g)?.map((x) => Number(x.split(' ')[1])).reduce((a, b) => a + b, 0) ?? 0;

export function send(from: Host, proto: string, dst: string, port: number): void {
  if (proto === 'icmp') run('ping', ['-c', '1', '-W', '0.3', ...(dst.includes(':') ? ['-6'] : []), dst], { netns: from.ns });
  else run(process.execPath, [AGENT, 'probe', proto, dst, String(port), '300'], { netns: from.ns });
}

