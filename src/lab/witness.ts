// Where a probe went inside the routers: a `blocked` check passes only when its probe is seen
// arriving at a router and not leaving it (nor reaching a socket of the router's own) — dropped
// there. Without this a probe that never got to the router (no route, ENETUNREACH) or that the
// firewall let through to a closed port (a TCP reset from the target) passed as "blocked".
//
// A table of the lab's own in each router namespace: at prerouting, before everything, packets of
// the probe (by source, destination, protocol and port) are counted and marked; after the filter
// (input priority 100) and at the very end of postrouting the marked ones are counted again: they
// were let in, or sent on.
import { run } from '../lib/exec.js';
import type { Family } from '../lib/ip.js';

const TABLE = 'kairo_lab_witness';
const MARK = '0x4b4c';

export interface ProbeShape {
  family: Family;
  src?: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  port?: number;
}

export interface Witness {
  /** Probe packets that arrived at a router. */
  arrived: number;
  /** Of those, how many the router passed on or delivered to its own sockets. */
  passed: number;
}

function table(p: ProbeShape): string {
  const ip = p.family === 4 ? 'ip' : 'ip6';
  const l4 = p.proto === 'icmp' ? (p.family === 4 ? 'icmp type echo-request' : 'icmpv6 type echo-request') : `${p.proto} dport ${p.port}`;
  const src = p.src ? `${ip} saddr ${p.src} ` : '';
  return `table inet ${TABLE} {
  chain pre { type filter hook prerouting priority -400; policy accept;
    ${src}${ip} daddr ${p.dst} ${l4} counter meta mark set ${MARK}
  }
  chain in { type filter hook input priority 100; policy accept;
    meta mark ${MARK} counter
  }
  chain out { type filter hook postrouting priority 500; policy accept;
    meta mark ${MARK} counter
  }
}
`;
}

/** Installs the witness in each router namespace; the returned function reads and removes it. */
export function watch(routerNs: string[], p: ProbeShape): () => Witness {
  for (const ns of routerNs) {
    run('nft', ['delete', 'table', 'inet', TABLE], { netns: ns });
    run('nft', ['-f', '-'], { netns: ns, input: table(p) });
  }
  return () => {
    const w: Witness = { arrived: 0, passed: 0 };
    for (const ns of routerNs) {
      const text = run('nft', ['list', 'table', 'inet', TABLE], { netns: ns }).stdout;
      const count = (chain: string) => Number(new RegExp(`chain ${chain} \\{[^}]*?counter packets (\\d+)`, 's').exec(text)?.[1] ?? 0);
      w.arrived += count('pre');
      w.passed += count('in') + count('out');
      run('nft', ['delete', 'table', 'inet', TABLE], { netns: ns });
    }
    return w;
  };
}

/** The source address a namespace uses towards `dst` (what the router will see before NAT). */
export function sourceFor(ns: string, dst: string, bind?: string): string | undefined {
  if (bind) return bind;
  const r = run('ip', ['-j', 'route', 'get', dst], { netns: ns });
  try {
    return (JSON.parse(r.stdout) as { prefsrc?: string }[])[0]?.prefsrc;
  } catch {
    return undefined;
  }
}
