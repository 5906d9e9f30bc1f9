// `kairo validate FILE [--json]`: every problem at once, as compiler messages on stderr, or (for CI
// and editors) as one JSON document on stdout and nothing else there.
import type { Diagnostic } from '../config/diagnostics.js';
import { compileFile, compileQuietly, summary } from './io.js';

/** A diagnostic with every field present (null when unknown), so consumers need no guessing. */
function jsonDiagnostic(d: Diagnostic) {
  return { code: d.code, severity: d.severity, path: d.path, message: d.message, hint: d.hint ?? null, file: d.file ?? null, line: d.line ?? null, column: d.column ?? null };
}

function validateJson(file: string): void {
  const r = compileQuietly(file);
  let out: { ok: boolean; diagnostics: ReturnType<typeof jsonDiagnostic>[]; nodes: { node: string; files: string[] }[] };
  if ('unreadable' in r) {
    // Not the checker's finding (it never saw the site), so it has no golden case: the CLI's own code.
    const code = 'site.unreadable';
    out = { ok: false, diagnostics: [jsonDiagnostic({ code, severity: 'error', path: '', message: r.unreadable, hint: 'check the path and its permissions', file })], nodes: [] };
  } else {
    const res = r.result;
    out = { ok: res.ok, diagnostics: res.diagnostics.map(jsonDiagnostic), nodes: res.nodes.map((n) => ({ node: n.node, files: n.artifacts.map((a) => a.path) })) };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  // exitCode, not exit(): a large document drains into a pipe first.
  process.exitCode = out.ok ? 0 : 1;
}

export function validateCommand(file: string, opts: { json?: boolean } = {}): void {
  if (opts.json) return validateJson(file);
  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) {
    console.error(summary(result));
    process.exit(1);
  }
  const n = result.nodes.length;
  console.log(`${file}: ok (${n} node${n === 1 ? '' : 's'}: ${result.nodes.map((x) => x.node).join(', ')}; ${summary(result)})`);
}
