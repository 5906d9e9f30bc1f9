// Files a site refers to (set element lists). Read through a function the caller passes, so the
// core stays free of I/O: the CLI reads relative to the site file, tests pass a map.
//
// A list file's lines are never shown in a message: `file:` may name the wrong file (a secret,
// a key), and a diagnostic would print it. A line that is not an address is reported by its
// position only; a file with no address at all is refused as a whole.
import type { Site } from './schema.js';
import type { SourceMap } from './load.js';
import { formatPath, shown, type Diagnostic } from './diagnostics.js';
import { familyOfPrefix, parseAddress } from '../lib/ip.js';

export type FileReader = (path: string) => string | undefined;

/** Lines of a list file reported one by one; the rest are counted in one more diagnostic. */
const REPORTED_LINES = 20;

/** An address, a prefix or a range a-b, of either family: what the firewall's set checks take further. */
function looksLikeEntry(e: string): boolean {
  if (familyOfPrefix(e)) return true;
  const range = /^(.+)-(.+)$/.exec(e);
  return range !== null && parseAddress(range[1]) !== undefined && parseAddress(range[2]) !== undefined;
}

/** Appends each set's file entries to its elements; positions of those entries point into the list file. */
export function includeSetFiles(site: Site, source: SourceMap, read: FileReader | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, set] of Object.entries(site.sets ?? {})) {
    if (!set.file) continue;
    const filePath = ['sets', name, 'file'];
    const text = read?.(set.file);
    if (text === undefined) {
      out.push({
        code: 'set.file-unreadable', severity: 'error', path: formatPath(filePath),
        message: `cannot read ${set.file}`, hint: 'the path is relative to the site file', file: source.file, ...source.locate(filePath),
      });
      continue;
    }
    const entries: { entry: string; line: number }[] = [];
    const strays: number[] = [];
    const lines = text.split(/\r\n|\r|\n/);
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i].indexOf('#');
      const entry = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
      if (!entry) continue;
      if (looksLikeEntry(entry)) entries.push({ entry, line: i + 1 });
      else strays.push(i + 1);
    }
    if (strays.length > 0 && entries.length === 0) {
      out.push({
        code: 'set.file-not-a-list', severity: 'error', path: formatPath(filePath),
        message: `${shown(set.file)} is not a list of addresses: none of its ${strays.length} line${strays.length === 1 ? '' : 's'} is an address, prefix or range`,
        hint: 'check the path; a set file holds one address, prefix or range a line (# starts a comment). Its content is never shown',
        file: source.file, ...source.locate(filePath),
      });
      continue;
    }
    strays.slice(0, REPORTED_LINES).forEach((line) => out.push({
      code: 'address.invalid', severity: 'error', path: formatPath(filePath), file: set.file, line, column: 1,
      message: `this line of set ${name}'s list is not an address, prefix or range`,
      hint: 'one address, prefix or range a line, # starts a comment (list lines are not shown in messages)',
    }));
    if (strays.length > REPORTED_LINES) {
      out.push({
        code: 'address.invalid', severity: 'error', path: formatPath(filePath), file: set.file, line: strays[REPORTED_LINES], column: 1,
        message: `and ${strays.length - REPORTED_LINES} more lines of set ${name}'s list from here on are not addresses, prefixes or ranges`,
      });
    }
    const origin = { path: formatPath(['sets', name, 'elements']), start: set.elements.length, file: set.file, lines: entries.map((e) => e.line) };
    for (const e of entries) set.elements.push(e.entry);
    source.origins.push(origin);
  }
  return out;
}
