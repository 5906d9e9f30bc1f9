// The site file's text before any YAML parser sees it: one kind of line break, and a cheap bound
// on how deeply it nests, so that neither parser is ever asked to do something it cannot finish.

/**
 * YAML 1.2 takes CR, LF and CRLF as line breaks and folds each to LF in values. The `yaml`
 * library's positions count LF only, so a CR-only file was one 545 KB line (every position 1:1,
 * and slow). Turning each break into one LF keeps every line and column where the user sees it.
 */
export function normalizeLineBreaks(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/**
 * How deeply lists and mappings may nest inside one another. A real site nests about 6 levels;
 * js-yaml is given this limit, and beyond a few hundred levels the `yaml` library (which gives
 * the precise positions) overflows its stack.
 */
export const MAX_NESTING = 64;

/**
 * The offset at which the text nests deeper than `limit`, or undefined. An upper bound read in one
 * pass without parsing: open flow brackets, plus two levels per enclosing indentation (a mapping
 * and a list may share one), plus the `- `, `? ` and `: ` indicators on the current line, outside
 * comments and quoted scalars. Used where js-yaml stopped early for another reason, to keep the
 * `yaml` library from meeting nesting it would overflow on; a little pessimistic by design.
 */
export function deepestPoint(text: string, limit: number): number | undefined {
  let flow = 0;
  const indents: number[] = [];
  let atLineStart = true;
  let column = 0;
  let onLine = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      atLineStart = true;
      column = 0;
      onLine = 0;
      continue;
    }
    if (atLineStart) {
      if (c === ' ') {
        column++;
        continue;
      }
      atLineStart = false;
      if (flow === 0 && c !== '#') {
        while (indents.length && indents[indents.length - 1] >= column) indents.pop();
        indents.push(column);
      }
    }
    const prev = i === 0 ? '\n' : text[i - 1];
    switch (c) {
      case '#':
        if (prev === ' ' || prev === '\t' || prev === '\n') i = endOfLine(text, i) - 1;
        continue;
      case '"':
      case "'":
        if (' \t\n[{,:'.includes(prev)) {
          const end = closingQuote(text, i);
          if (end < 0) return undefined; // the parsers report the open quote
          i = end;
        }
        continue;
      case '[':
      case '{':
        flow++;
        break;
      case ']':
      case '}':
        if (flow > 0) flow--;
        break;
      case '-':
      case '?':
      case ':':
        if (' \t\n'.includes(text[i + 1] ?? '\n')) onLine++;
        break;
      default:
        continue;
    }
    if (flow + 2 * indents.length + onLine > limit) return i;
  }
  return undefined;
}

function endOfLine(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl;
}

/** Index of the quote that closes the one at `start` ('' and \" are escapes), or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) {
      if (q === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/** 1-based line and column of an offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, column: offset - start + 1 };
}
