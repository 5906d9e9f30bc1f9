// CLI helpers: read a site file and compile it, printing diagnostics like a compiler.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileReaderBeside } from '../config/files.js';
import { compileSite, type CompileResult } from '../pipeline.js';
import { formatDiagnostic } from '../config/diagnostics.js';

export function compileFile(file: string): CompileResult | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`kairo: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
  const shown = relative(process.cwd(), file) || file;
  const readFile = fileReaderBeside(file);
  const result = compileSite(text, shown.startsWith('..') ? file : shown, { readFile, env: (n) => process.env[n] });
  for (const d of result.diagnostics) console.error(formatDiagnostic(d));
  return result;
}

export function summary(result: CompileResult): string {
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}
