// Applying a one-rule change to the large generated site, against the same change made the seed
// way (iptables commands on a linear ruleset). Root only; the target is a namespace running
// systemd-networkd, as a lab router does (the first apply brings up its links through it).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileSite } from '../src/pipeline.js';
import { apply, kairoListing } from '../src/apply/transaction.js';
import { NetnsTarget } from '../src/targets/index.js';
import { must, run } from '../src/lib/exec.js';
import { generatedSite, type SiteSize } from './sites.js';
import { linearIptables } from './dataplane.js';
import { startNetworkd, stopNetworkd, type RealNetworkd } from '../src/lab/networkd-real.js';
import { NETWORKD_DIR } from '../src/features/interfaces/networkd.js';

export interface ApplyFigures {
  render: number[];
  transaction: number[];
  listing: number;
  seedInsert: number[];
  seedRestore: number[];
  phases?: Record<string, number>;
}

const ONE_RULE = '  rules:\n    - name: web\n      from: wan\n      to: router\n      proto: tcp\n      port: 443\n      action: accept\n';

export function applyBench(runs: number): ApplyFigures {
  const size: SiteSize = { forwards: 10000, routedHosts: 1000, blocklist: 100000 };
  const g = generatedSite(size);
  const withRule = g.text.replace('  rules:\n', ONE_RULE);
  const compile = (t: string) => compileSite(t, 'bench.yaml', { readFile: (p) => g.files[p] }).nodes[0].artifacts;
  const ns = `kb-apply-${process.pid}`;
  const root = mkdtempSync(join(tmpdir(), 'kairo-bench-apply-'));
  run('ip', ['netns', 'del', ns]);
  must('ip', ['netns', 'add', ns]);
  const f: ApplyFigures = { render: [], transaction: [], listing: 0, seedInsert: [], seedRestore: [] };
  let nd: RealNetworkd | undefined;
  try {
    must('ip', ['-n', ns, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'lan0']);
    chmodSync(root, 0o755); // networkd reads its directory as the systemd-network user
    mkdirSync(join(root, NETWORKD_DIR), { recursive: true, mode: 0o755 });
    nd = startNetworkd({ ns, configDir: join(root, NETWORKD_DIR), logFile: join(root, 'networkd.log') });
    const target = new NetnsTarget(ns, root);
    const a = compile(g.text);
    apply(target, a, { site: 'bench', node: 'router' });
    let toggle = false;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const next = compile(toggle ? g.text : withRule);
      f.render.push(performance.now() - t0);
      const t1 = performance.now();
      const r = apply(target, next, { site: 'bench', node: 'router' });
      f.transaction.push(performance.now() - t1);
      f.phases = r.timings;
      toggle = !toggle;
    }
    const t2 = performance.now();
    kairoListing(target);
    f.listing = performance.now() - t2;
    // The seed way: the same policy as linear iptables rules, then one rule inserted with a
    // command (seeds 000-004), or removed by identity with save | grep -v | restore (seed 002).
    must('iptables-restore', [], { netns: ns, input: linearIptables(size), timeoutMs: 600_000 });
    for (let i = 0; i < runs; i++) {
      const t3 = performance.now();
      must('iptables', ['-I', 'INPUT', '1', '-i', 'wan0', '-p', 'tcp', '--dport', '443', '-m', 'comment', '--comment', 'web', '-j', 'ACCEPT'], { netns: ns, timeoutMs: 600_000 });
      f.seedInsert.push(performance.now() - t3);
      const t4 = performance.now();
      const saved = must('iptables-save', [], { netns: ns, timeoutMs: 600_000 });
      must('iptables-restore', [], { netns: ns, input: saved.split('\n').filter((l) => !l.includes('"web"') && !l.includes(' web ')).join('\n'), timeoutMs: 600_000 });
      f.seedRestore.push(performance.now() - t4);
    }
  } finally {
    if (nd) stopNetworkd(nd);
    run('ip', ['netns', 'del', ns]);
    rmSync(root, { recursive: true, force: true });
  }
  return f;
}
