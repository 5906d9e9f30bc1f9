// CLI helpers: read a site file and compile it, printing diagnostics like a compiler.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileReaderBeside } from '../config/files.js';
import { compileSite, type CompileResult } from '../pipeline.js';
import { formatDiagnostic } from '../config/diagnostics.js';

/** Reads and compiles a site file without printing: the result, or why the file could not be read. */
export function compileQuietly(file: string): { result: CompileResult } | { unreadable: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { unreadable: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const shown = relative(process.cwd(), file) || file;
  const readFile = fileReaderBeside(file);
  return { result: compileSite(text, shown.startsWith('..') ? file : shown, { readFile, env: (n) => process.env[n] }) };
}

export function compileFile(file: string): CompileResult | undefined {
  const r = compileQuietly(file);
  if ('unreadable' in r) {
    console.error(`kairo: ${r.unreadable}`);
    return undefined;
  }
  for (const d of r.result.diagnostics) console.error(formatDiagnostic(d));
  return r.result;
}

export function summary(result: CompileResult): string {
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}
