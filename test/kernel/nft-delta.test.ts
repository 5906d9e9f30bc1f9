// The incremental update must leave the kernel exactly as a full load of the new ruleset would:
// load the old ruleset, apply the delta, and compare `nft list ruleset` with a fresh namespace
// that loaded the new ruleset in full. (The delta's text without a kernel: test/unit/nft-delta.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { rulesetDelta } from '../../src/render/nft-delta.js';
import { have, isRoot, must, run } from '../../src/lib/exec.js';
import { generatedSite } from '../../bench/sites.js';

const skip = !isRoot() ? 'skipped: needs root for network namespaces' : !have('nft') ? 'skipped: nft not installed' : false;
const ex = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'examples', `${name}.yaml`), 'utf8');

function nftOf(text: string, files: Record<string, string> = {}): string {
  const beside = fileReaderBeside(join(import.meta.dirname, '..', '..', 'examples', 'x.yaml'));
  const r = compileSite(text, 'x.yaml', { readFile: (p) => files[p] ?? beside(p) });
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return r.nodes[0].artifacts.find((a) => a.reload === 'nftables')!.content;
}

/** Counters and element order are runtime details; everything else must match. */
function listing(ns: string): string {
  return must('nft', ['list', 'ruleset'], { netns: ns }).replace(/counter packets \d+ bytes \d+/g, 'counter');
}

function compare(before: string, after: string, expectDelta = true): { ms: number; lines: number } {
  const d = rulesetDelta(before, after);
  if (!expectDelta) {
    assert.equal(d, undefined);
    return { ms: 0, lines: 0 };
  }
  assert.ok(d, 'a delta exists');
  const [a, b] = [`kt-delta-a-${process.pid}`, `kt-delta-b-${process.pid}`];
  for (const ns of [a, b]) run('ip', ['netns', 'del', ns]), must('ip', ['netns', 'add', ns]);
  try {
    must('nft', ['-f', '-'], { netns: a, input: before, timeoutMs: 60_000 });
    const t0 = Date.now();
    if (d.script) must('nft', ['-f', '-'], { netns: a, input: d.script, timeoutMs: 60_000 });
    const ms = Date.now() - t0;
    must('nft', ['-f', '-'], { netns: b, input: after, timeoutMs: 60_000 });
    assert.equal(listing(a), listing(b));
    return { ms, lines: d.script.split('\n').length };
  } finally {
    run('ip', ['netns', 'del', a]);
    run('ip', ['netns', 'del', b]);
  }
}

test('delta: a new rule replaces only its chain', { skip }, () => {
  const before = nftOf(ex('home-router'));
  const after = nftOf(ex('home-router').replace('  rules:\n', '  rules:\n    - { name: web-from-lan, from: lan, to: router, proto: tcp, port: 443, action: accept }\n'));
  const d = rulesetDelta(before, after)!;
  assert.deepEqual(d.summary, ['~ chain inet kairo in_lan (4 lines)']);
  compare(before, after);
});

test('delta: removing a rule, a forward, a policy; adding a zone pair', { skip }, () => {
  const base = ex('cloud-nat-instance');
  compare(nftOf(base), nftOf(base.replace(/^  rules:\n    - \{ name: ssh, .*\n/m, '')));
  compare(nftOf(base), nftOf(base.replace(/^    - \{ name: PortMapping, .*\n/m, '')));
  compare(nftOf(base), nftOf(base.replace('    - { from: wan, to: private, action: drop }\n', '')));
  compare(nftOf(base), nftOf(base.replace('    - { from: wan, to: private, action: drop }\n', '    - { from: wan, to: private, action: reject, log: true }\n')));
});

test('delta: an interval set is refilled in the same transaction (routed-vm-host public set)', { skip }, () => {
  const base = ex('routed-vm-host');
  const after = base.replace('elements: [192.0.2.112/29, 198.51.100.11, 198.51.100.12, 198.51.100.13]', 'elements: [192.0.2.112/29, 198.51.100.11, 198.51.100.13, 198.51.100.14]');
  const d = rulesetDelta(nftOf(base), nftOf(after))!;
  assert.deepEqual(d.summary, ['~ set inet kairo set_public: refilled with 4 elements']);
  compare(nftOf(base), nftOf(after));
});

test('delta: a first forward adds maps, sets and chain lines', { skip }, () => {
  const base = ex('home-router');
  const after = base.replace('    - { out: wan, source: 10.0.0.0/24 }', '    - { out: wan, source: 10.0.0.0/24 }\n  forwards:\n    - { name: web, from: wan, proto: tcp, port: 8080, to: "10.0.0.80:80" }');
  compare(nftOf(base), nftOf(after));
});

test('delta: one rule on the large site is a small transaction', { skip }, () => {
  const g = generatedSite({ forwards: 10000, routedHosts: 1000, blocklist: 100000 });
  const before = nftOf(g.text, g.files);
  const after = nftOf(g.text.replace('  rules:\n', '  rules:\n    - name: web\n      from: wan\n      to: router\n      proto: tcp\n      port: 443\n      action: accept\n'), g.files);
  const d = rulesetDelta(before, after)!;
  // Rule numbers in comments shift, so the chains holding later rules change too; no set or map does.
  assert.ok(d.summary.every((x) => x.startsWith('~ chain ')), d.summary.join('\n'));
  const { lines } = compare(before, after);
  assert.ok(lines < 40, `one rule changes a handful of lines, not the 3 MB ruleset (got ${lines})`);
});
