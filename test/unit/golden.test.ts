// Golden cases: one self-describing file per case under test/golden/*.case:
//   # what the case shows
//   === site.yaml            (the input; or `=== site: examples/x.yaml` to use an example)
//   === diagnostics          (formatted like the CLI prints them, or `none`)
//   === file NODE:/path      (expected content of a rendered file; as many as the case checks)
// Compared as a unified diff. UPDATE_GOLDEN=1 rewrites the expected sections from the renderer,
// for review with git diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';

const dir = join(import.meta.dirname, '..', 'golden');
const root = join(import.meta.dirname, '..', '..');

interface Section {
  head: string;
  body: string;
}

function parseCase(text: string): { preamble: string; sections: Section[] } {
  const parts = text.split(/^=== /m);
  const preamble = parts.shift() ?? '';
  return {
    preamble,
    sections: parts.map((p) => {
      const nl = p.indexOf('\n');
      return { head: p.slice(0, nl).trim(), body: p.slice(nl + 1) };
    }),
  };
}

function actualFor(result: ReturnType<typeof compileSite>, head: string): string | undefined {
  if (head === 'diagnostics') {
    return result.diagnostics.length ? result.diagnostics.map(formatDiagnostic).join('\n') + '\n' : 'none\n';
  }
  const m = /^file ([^:]+):(.+)$/.exec(head);
  if (!m) return undefined;
  const node = result.nodes.find((n) => n.node === m[1]);
  return node?.artifacts.find((a) => a.path === m[2])?.content;
}

export function casesIn(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.case')).sort();
}

for (const name of casesIn()) {
  test(`golden ${name}`, () => {
    const path = join(dir, name);
    const { preamble, sections } = parseCase(readFileSync(path, 'utf8'));
    const siteSec = sections.find((s) => s.head === 'site.yaml' || s.head.startsWith('site:'));
    assert.ok(siteSec, `${name}: no site section`);
    const sitePath = siteSec.head === 'site.yaml' ? join(dir, name) : join(root, siteSec.head.slice(5).trim());
    const text = siteSec.head === 'site.yaml' ? siteSec.body : readFileSync(sitePath, 'utf8');
    // Files a case refers to are read beside it (examples/ for the example cases); env is empty.
    const result = compileSite(text, 'site.yaml', { readFile: fileReaderBeside(sitePath) });
    const expected = sections.filter((s) => s !== siteSec);
    assert.ok(expected.length > 0, `${name}: a case must expect something (diagnostics or files)`);

    if (expected.some((s) => s.head.startsWith('file ')) && !result.ok) {
      assert.fail(`${name}: the case expects files but the site does not compile:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`);
    }
    if (process.env.UPDATE_GOLDEN) {
      // Keep the sections the case names; a new good case with only `diagnostics` gets every file.
      let heads = expected.map((s) => s.head);
      if (result.ok && heads.length === 1 && heads[0] === 'diagnostics' && process.env.UPDATE_GOLDEN === 'all') {
        heads = ['diagnostics', ...result.nodes.flatMap((n) => n.artifacts.map((a) => `file ${n.node}:${a.path}`))];
      }
      // A file the site no longer renders drops out of the case (review with git diff).
      const kept = heads.filter((h) => actualFor(result, h) !== undefined);
      const out = [preamble, `=== ${siteSec.head}\n${siteSec.body}`, ...kept.map((h) => `=== ${h}\n${actualFor(result, h)}`)].join('');
      writeFileSync(path, out);
      return;
    }
    for (const s of expected) {
      const actual = actualFor(result, s.head);
      assert.notEqual(actual, undefined, `${name}: '${s.head}' is not rendered (or not a known section)`);
      if (actual !== s.body) {
        assert.fail(`${name} [${s.head}] differs:\n${createTwoFilesPatch('expected', 'actual', s.body, actual!)}`);
      }
    }
  });
}

test('every diagnostic code the checker can emit has a golden case', () => {
  const srcDir = join(root, 'src');
  const codes = new Set<string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:c\.(?:error|warn)\(|code: )'([a-z]+\.[a-z-]+)'/g)) codes.add(m[1]);
      }
    }
  };
  walk(srcDir);
  const covered = casesIn().map((n) => readFileSync(join(dir, n), 'utf8')).join('\n');
  // Invariants no site reaches once verify has passed: each has a unit test of its own instead.
  const guards = new Set(['render.path-clash']); // test/unit/path-clash.test.ts
  const missing = [...codes].filter((c) => !guards.has(c) && !covered.includes(`[${c}]`));
  assert.ok(codes.size > 25, `found ${codes.size} codes`);
  assert.deepEqual(missing, [], 'codes without a bad-input case');
});
