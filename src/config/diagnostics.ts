// A Diagnostic is everything a user needs to fix one problem: where (file, line, column, config
// path), what (code, message) and how (hint). Every stage returns them; nothing throws on bad input.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: string;
  severity: Severity;
  /** Config path such as `interfaces.lan.ipv4[0]`. */
  path: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
}

export type PathSegment = string | number;

/** `['interfaces','lan','ipv4',0]` → `interfaces.lan.ipv4[0]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Compiler-style: `site.yaml:12:7 error[nat.target-link-local] interfaces.lan: message` + hint. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line ?? 0}:${d.column ?? 0} ` : '';
  const head = `${where}${d.severity}[${d.code}] ${d.path ? d.path + ': ' : ''}${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Stable order: by line, column, then code, so output and golden files do not depend on check order. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return [...diags].sort(
    (a, b) =>
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.code.localeCompare(b.code) ||
      a.path.localeCompare(b.path),
  );
}
