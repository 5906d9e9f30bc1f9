// What kairo accepts, the real consumers accept: thousands of generated sites (test/property/
// site-arb.ts), each validated and rendered, then
//   - every ruleset checked by the kernel (`nft -c`, in a namespace this test creates; 100 rulesets
//     a transaction, a failing batch bisected down to the site);
//   - sysctl files of a sample loaded with `sysctl -p` where the devices exist (veths by the
//     site's device names), so every key exists and every value is taken;
//   - unit files of a sample passed by `systemd-analyze verify`.
// Seeded: KAIRO_PROP_SEED repeats a run (the seed is printed), KAIRO_PROP_SITES sets the count
// (default 5 000). A failure prints the site; keep it as a golden case once fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { compileSite, type NodeOutput } from '../../src/pipeline.js';
import { NFT_PATH, SYSCTL_PATH } from '../../src/render/ruleset.js';
import { have, isRoot, must, run } from '../../src/lib/exec.js';
import { siteArb } from '../property/site-arb.js';

const skip = !isRoot() ? 'skipped: needs root for network namespaces' : !have('nft') ? 'skipped: nft not installed' : false;
const COUNT = Number(process.env.KAIRO_PROP_SITES ?? 5000);
const SEED = Number(process.env.KAIRO_PROP_SEED ?? Date.now() % 2 ** 31);
const env = (n: string) => (n === 'KAIRO_PROP_PW' ? 'example-only-password' : undefined);

interface Compiled {
  text: string;
  node: NodeOutput;
}

function compileAll(): { sites: Compiled[]; refused: { text: string; why: string }[]; ms: number } {
  const t0 = Date.now();
  const sites: Compiled[] = [];
  const refused: { text: string; why: string }[] = [];
  for (const text of fc.sample(siteArb, { numRuns: COUNT, seed: SEED })) {
    const r = compileSite(text, 'prop.json', { env });
    if (r.ok) sites.push({ text, node: r.nodes[0] });
    else refused.push({ text, why: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`).join('; ') });
  }
  return { sites, refused, ms: Date.now() - t0 };
}

const ns = `kt-prop-${process.pid}`;
const nftOk = (script: string) => run('nft', ['-c', '-f', '-'], { netns: ns, input: script, timeoutMs: 120_000 });

/** Sites whose rulesets nft refuses: one check per batch, a failing batch split until the site is found. */
function nftRejects(batch: Compiled[]): { site: Compiled; error: string }[] {
  const script = batch.map((s) => s.node.artifacts.find((a) => a.path === NFT_PATH)!.content).join('\n');
  const r = nftOk(script);
  if (r.code === 0) return [];
  if (batch.length === 1) return [{ site: batch[0], error: r.stderr.trim().split('\n').slice(0, 6).join('\n') }];
  const half = Math.ceil(batch.length / 2);
  return [...nftRejects(batch.slice(0, half)), ...nftRejects(batch.slice(half))];
}

test(`generated sites: every site kairo accepts renders files nft, sysctl and systemd accept (${COUNT} sites, seed ${SEED})`, { skip, timeout: 900_000 }, () => {
  const { sites, refused, ms } = compileAll();
  // The generator writes valid sites: a refusal is a generator bug or a regression in verify.
  assert.deepEqual(refused.slice(0, 3), [], `${refused.length} generated sites refused`);
  run('ip', ['netns', 'del', ns]);
  must('ip', ['netns', 'add', ns]);
  const dir = mkdtempSync(join(tmpdir(), 'kairo-prop-'));
  try {
    const t1 = Date.now();
    const rejected: { site: Compiled; error: string }[] = [];
    for (let i = 0; i < sites.length; i += 100) rejected.push(...nftRejects(sites.slice(i, i + 100)));
    const nftMs = Date.now() - t1;
    assert.equal(rejected.length, 0, `nft refused ${rejected.length} rulesets; the first:\n${rejected[0]?.error}\n--- site ---\n${rejected[0]?.site.text}`);

    // sysctl: every device a site names exists here (a veth per name), then each sample's file.
    const devices = new Set(sites.flatMap((s) => s.node.model.interfaces.map((i) => i.device)).filter((d) => !d.startsWith('ppp')));
    for (const d of devices) must('ip', ['-n', ns, 'link', 'add', d, 'type', 'veth', 'peer', 'name', `${d}-p`]);
    const t2 = Date.now();
    const sample = sites.filter((_, i) => i % Math.max(1, Math.floor(sites.length / 300)) === 0);
    for (const s of sample) {
      const file = s.node.artifacts.find((a) => a.path === SYSCTL_PATH)!.content;
      const r = run('sysctl', ['-q', '-p', '-'], { netns: ns, input: file });
      assert.equal(r.code, 0, `sysctl refused:\n${r.stderr}\n--- file ---\n${file}\n--- site ---\n${s.text}`);
    }
    const sysctlMs = Date.now() - t2;

    // Units: every distinct unit text of the sites (they vary with the uplink's kind and names).
    const t3 = Date.now();
    const units = new Map<string, { path: string; node: NodeOutput; text: string }>();
    for (const s of sites) for (const a of s.node.artifacts.filter((x) => x.path.endsWith('.service'))) if (!units.has(a.content) && units.size < 25) units.set(a.content, { path: a.path, node: s.node, text: s.text });
    if (have('systemd-analyze')) {
      for (const [content, u] of units) {
        const root = join(dir, String(units.size), String([...units.keys()].indexOf(content)));
        for (const a of u.node.artifacts) {
          const p = join(root, a.path);
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, a.content.replaceAll('/etc/kairo/', `${root}/etc/kairo/`));
          chmodSync(p, a.mode);
        }
        const v = run('systemd-analyze', ['verify', join(root, u.path)]);
        const problems = v.stderr.split('\n').filter((l) => l.trim() && !/Unit \S+\.target not found|Failed to create .*\/start|Command kairo is not executable/.test(l));
        assert.deepEqual(problems, [], `${u.path}\n--- site ---\n${u.text}`);
      }
    }
    console.log(`property: ${sites.length} sites (seed ${SEED}) compiled in ${ms} ms (${(ms / sites.length).toFixed(2)} ms each); nft -c of all in ${nftMs} ms; sysctl -p of ${sample.length} in ${sysctlMs} ms; ${units.size} distinct units verified in ${Date.now() - t3} ms`);
  } finally {
    run('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});
