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

/** How many characters of a user's value a message shows; the file position says where the rest is. */
export const SHOWN_CHARS = 60;

// C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidirectional
// overrides: any of them would let a value move the cursor, recolour or reorder the terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters written as escapes (`\n`, `\x1b`, `\u202e`), so that printing never reaches the terminal raw. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** At most `max` characters (the last one an ellipsis), never splitting a surrogate pair. */
export function cut(text: string, max = SHOWN_CHARS): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\ud800-\udbff]/.test(text[end - 1])) end--;
  return text.slice(0, end) + '…';
}

/** A user's value as a message shows it: cut and escaped. */
export function shown(value: unknown): string {
  return escapeControl(cut(String(value)));
}

const MAX_MESSAGE = 1000;

/**
 * The last line of defence before a diagnostic is printed, whatever a check interpolated:
 * control characters are escaped, an unbroken run over 80 characters (a full IPv6 range is 79) is
 * cut to 60 and the whole is bounded, so a 1 MB value or an escape sequence in the file never
 * reaches the terminal as such. Idempotent. Code that echoes a value uses shown() as well.
 */
export function tidyText(text: string): string {
  // A closing quote or bracket stays, so the cut value still reads as quoted.
  const runs = escapeControl(text).replace(/\S{81,}/g, (m) => (/['")\],:]$/.test(m) ? cut(m.slice(0, -1)) + m.slice(-1) : cut(m)));
  return cut(runs, MAX_MESSAGE);
}

export function tidyDiagnostic(d: Diagnostic): Diagnostic {
  const out: Diagnostic = { ...d, path: tidyText(d.path), message: tidyText(d.message) };
  if (d.hint !== undefined) out.hint = tidyText(d.hint);
  if (d.file !== undefined) out.file = tidyText(d.file);
  return out;
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
