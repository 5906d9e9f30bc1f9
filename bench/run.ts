// npm run bench: figures, never pass/fail. Medians of several runs.
//  - render: load+verify+model+render of generated sites of growing size
//  - load: `nft -f` of the rendered ruleset into a fresh namespace (root only)
import { performance } from 'node:perf_hooks';
import { compileSite } from '../src/pipeline.js';
import { generatedSite, type SiteSize } from './sites.js';
import { have, isRoot, must, run } from '../src/lib/exec.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const sizes: [string, SiteSize][] = [
  ['10 forwards', { forwards: 10, routedHosts: 0, blocklist: 0 }],
  ['100 forwards', { forwards: 100, routedHosts: 0, blocklist: 0 }],
  ['1 000 forwards', { forwards: 1000, routedHosts: 0, blocklist: 0 }],
  ['10 000 forwards', { forwards: 10000, routedHosts: 0, blocklist: 0 }],
  ['1 000 routed hosts', { forwards: 0, routedHosts: 1000, blocklist: 0 }],
  ['100 000 blocklist', { forwards: 0, routedHosts: 0, blocklist: 100000 }],
  ['largest (10k fw + 1k hosts + 100k bl)', { forwards: 10000, routedHosts: 1000, blocklist: 100000 }],
];

const runs = Number(process.env.BENCH_RUNS ?? 7);
const canLoad = isRoot() && have('nft');
console.log(`kairo bench: render = load+verify+model+render, median of ${runs} after 2 warm-up runs ('first' is the first run, JIT included); load = nft -f into a fresh namespace, median of ${canLoad ? '5' : 'no'} loads`);
console.log(['site'.padEnd(40), 'input KB'.padStart(8), 'first ms'.padStart(9), 'render ms'.padStart(10), 'nft KB'.padStart(8), 'load ms'.padStart(9)].join(' '));
for (const [label, size] of sizes) {
  const { text, files } = generatedSite(size);
  const times: number[] = [];
  let nft = '';
  // The first runs of each size also pay for V8 compiling the code paths; show it apart.
  const c0 = performance.now();
  compileSite(text, 'bench.yaml', { readFile: (p) => files[p] });
  const cold = performance.now() - c0;
  compileSite(text, 'bench.yaml', { readFile: (p) => files[p] });
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = compileSite(text, 'bench.yaml', { readFile: (p) => files[p] });
    times.push(performance.now() - t0);
    if (!r.ok) throw new Error(`bench site invalid: ${r.diagnostics[0]?.message}`);
    nft = r.nodes[0].artifacts.find((a) => a.reload === 'nftables')!.content;
  }
  let load = '-';
  if (canLoad) {
    const ns = `kb-bench-${process.pid}`;
    const loads: number[] = [];
    run('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', ns]);
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        must('nft', ['-f', '-'], { netns: ns, input: nft, timeoutMs: 120_000 });
        loads.push(performance.now() - t0);
      }
    } finally {
      run('ip', ['netns', 'del', ns]);
    }
    load = median(loads).toFixed(0);
  }
  console.log([label.padEnd(40), ((text.length + Object.values(files).join('').length) / 1024).toFixed(0).padStart(8), cold.toFixed(0).padStart(9), median(times).toFixed(1).padStart(10), (nft.length / 1024).toFixed(0).padStart(8), load.padStart(9)].join(' '));
}

// Data plane and lab figures need root, iperf3 and the lab's tools.
if (canLoad && have('iperf3') && have('ethtool') && process.env.BENCH_SKIP_DATAPLANE !== '1') {
  const { dataplaneBench } = await import('./dataplane.js');
  console.log('\ndata plane: iperf3 TCP, 4 s per run, sender TSO/GSO off, WAN client → port forward → LAN server; median of 5 interleaved rounds');
  const figs = dataplaneBench(5, (s) => console.log(`  ${s}`));
  const base = figs[0].median;
  for (const f of figs) {
    console.log(`${f.label.padEnd(44)} ${f.median.toFixed(2).padStart(7)} Gbit/s  ${((100 * f.median) / base).toFixed(0).padStart(4)}% of (a)   runs: ${f.gbps.map((x) => x.toFixed(2)).join(' ')}`);
  }
}

if (canLoad && have('dnsmasq') && have('networkctl')) {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { upLab, labDown } = await import('../src/lab/index.js');
  const { fileReaderBeside } = await import('../src/config/files.js');
  const ex = join(import.meta.dirname, '..', 'examples', 'home-router.yaml');
  const r = compileSite(readFileSync(ex, 'utf8'), 'home-router.yaml', { readFile: fileReaderBeside(ex) });
  const ups: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { plan, ms } = upLab(r, () => {});
    ups.push(ms);
    labDown(plan.prefix);
  }
  console.log(`\nlab bring-up of examples/home-router.yaml (router, ISP with DHCP and DNS, LAN client, servers): median ${median(ups)} ms of ${ups.join(', ')} ms`);
}

if (canLoad && have('iptables') && process.env.BENCH_SKIP_APPLY !== '1') {
  const { applyBench } = await import('./apply.js');
  const f = applyBench(5);
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log('\napply a one-rule change to the large site (10 000 forwards, 1 000 routed hosts, 100 000 blocklist), lab namespace target:');
  console.log(`  render the changed site                   ${fmt(f.render)}`);
  console.log(`  transaction (check, store, delta, health)  ${fmt(f.transaction)}`);
  console.log(`    phases of the last run: ${Object.entries(f.phases ?? {}).map(([k, v]) => `${k} ${v} ms`).join('; ')}`);
  console.log('the seed way, on the same policy as linear iptables rules:');
  console.log(`  iptables -I (one rule)                     ${fmt(f.seedInsert)}`);
  console.log(`  iptables-save | grep -v | iptables-restore ${fmt(f.seedRestore)}  (seed 002's removal by comment)`);
}
