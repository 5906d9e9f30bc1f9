// Mutation fuzzer: the examples and the golden sites, mutated mechanically (test/unit/fuzz/mutate.ts),
// must each give a result or diagnostics from compileSite, never an exception, in under a second.
//
//   KAIRO_FUZZ_RUNS=50000 npm run test:unit   more inputs (default 2000: about 5 s in CI)
//   KAIRO_FUZZ_SEED=123                        another seed (default fixed: CI sees the same inputs)
//   KAIRO_FUZZ_SECONDS=600                     a longer time budget (default 60)
//
// A failure prints the seed, the path to replay and the shrunk mutation. Every failure it ever finds
// becomes a golden case (test/golden/*.case), so the fix stays proven without the fuzzer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compileSite } from '../../src/pipeline.js';
import { apply, opArb, type Op } from './fuzz/mutate.js';

const root = join(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.KAIRO_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.KAIRO_FUZZ_SEED ?? 20261110);
const SECONDS = Number(process.env.KAIRO_FUZZ_SECONDS ?? 60);
const LIMIT_MS = 1000;

/** The seed sites: every example and every golden case's own site.yaml. */
function seeds(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  const examples = join(root, 'examples');
  for (const f of readdirSync(examples).filter((x) => x.endsWith('.yaml')).sort()) out.push({ name: `examples/${f}`, text: readFileSync(join(examples, f), 'utf8') });
  const golden = join(root, 'test', 'golden');
  for (const f of readdirSync(golden).filter((x) => x.endsWith('.case')).sort()) {
    const m = /^=== site\.yaml\n([\s\S]*?)^=== /m.exec(readFileSync(join(golden, f), 'utf8'));
    if (m) out.push({ name: `test/golden/${f}`, text: m[1] });
  }
  return out;
}

/** The files the seeds refer to, read once: the fuzzer never reads the disk at a mutated path. */
function fixtures(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['examples', 'test/golden']) {
    for (const f of readdirSync(join(root, dir)).filter((x) => !x.endsWith('.case') && !x.endsWith('.yaml'))) files.set(f, readFileSync(join(root, dir, f), 'utf8'));
  }
  return files;
}

const SEEDS = seeds();
const FILES = fixtures();
const opts = { readFile: (p: string) => FILES.get(p), env: (n: string) => (n.startsWith('KAIRO_TEST_UNSET') ? undefined : 'fuzz-secret') };

/** Runs one input; the time of the faster of two tries, so a GC pause or a busy CPU is not a hang. */
function run(text: string): { result: ReturnType<typeof compileSite>; ms: number } {
  let best = Infinity;
  let result!: ReturnType<typeof compileSite>;
  for (let attempt = 0; attempt < 2 && best > LIMIT_MS; attempt++) {
    const t0 = performance.now();
    result = compileSite(text, 'site.yaml', opts);
    best = Math.min(best, performance.now() - t0);
  }
  return { result, ms: best };
}

test(`fuzz: ${RUNS} mutated sites never throw and each takes under ${LIMIT_MS} ms`, () => {
  assert.ok(SEEDS.length > 40, `only ${SEEDS.length} seed sites`);
  const slowest = new Map<string, { ms: number; size: number; what: string }>();
  let runs = 0;
  let refused = 0;
  const input = fc.record({ seed: fc.nat({ max: SEEDS.length - 1 }), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }) });
  fc.assert(
    fc.property(input, ({ seed, ops }) => {
      const text = ops.reduce((t: string, op: Op) => apply(t, op), SEEDS[seed].text);
      if (text.length >= 1 << 20) return; // the time bound is for inputs under 1 MB
      const { result, ms } = run(text);
      runs++;
      if (!result.ok) refused++;
      assert.ok(result.ok || result.diagnostics.some((d) => d.severity === 'error'), 'refused without an error');
      for (const d of result.diagnostics) {
        assert.ok(d.code && d.message, `a diagnostic without code or message: ${JSON.stringify(d).slice(0, 200)}`);
        // Messages reach a terminal: no control character may pass raw, no value may pass whole.
        assert.doesNotMatch(`${d.path}${d.message}${d.hint ?? ''}`, /[\u0000-\u001f\u007f-\u009f]/, `${d.code}: raw control character`);
        assert.ok(d.message.length <= 1000, `${d.code}: a ${d.message.length}-character message`);
        if (d.line !== undefined) assert.ok(d.line >= 1 && d.column! >= 1, `${d.code}: position ${d.line}:${d.column}`);
        assert.doesNotMatch(d.message, /Maximum call stack|Too (big|small): expected/, d.message);
      }
      // JavaScript's own values never belong in a daemon's file (a name looked up on a plain object).
      for (const a of result.nodes.flatMap((n) => n.artifacts)) assert.doesNotMatch(a.content, /\[native code\]|\[object Object\]/, `${a.path}: JavaScript text rendered`);
      const cls = sizeClass(text.length);
      if (ms > (slowest.get(cls)?.ms ?? -1)) slowest.set(cls, { ms, size: text.length, what: `${SEEDS[seed].name} ${ops.map((o) => o.op).join('+')}` });
      assert.ok(ms < LIMIT_MS, `${text.length} characters took ${ms.toFixed(0)} ms`);
    }),
    { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false },
  );
  const table = [...slowest].sort().map(([cls, s]) => `  ${cls.padEnd(12)} ${s.ms.toFixed(0).padStart(5)} ms  ${s.size} chars  ${s.what}`);
  console.log(`fuzz: ${runs} runs (seed ${SEED}), ${refused} refused with diagnostics, slowest per size:\n${table.join('\n')}`);
  assert.ok(runs > Math.min(RUNS, 200) / 2, `only ${runs} runs in ${SECONDS} s`);
});

function sizeClass(n: number): string {
  if (n < 4 << 10) return '< 4 KB';
  if (n < 64 << 10) return '4-64 KB';
  if (n < 256 << 10) return '64-256 KB';
  return '256 KB-1 MB';
}
