// Files a site refers to (set element lists). Read through a function the caller passes, so the
// core stays free of I/O: the CLI reads relative to the site file, tests pass a map.
import type { Site } from './schema.js';
import type { SourceMap } from './load.js';
import { formatPath, type Diagnostic } from './diagnostics.js';

export type FileReader = (path: string) => string | undefined;

/** Appends each set's file entries to its elements; positions of those entries point into the list file. */
export function includeSetFiles(site: Site, source: SourceMap, read: FileReader | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, set] of Object.entries(site.sets ?? {})) {
    if (!set.file) continue;
    const text = read?.(set.file);
    if (text === undefined) {
      out.push({
        code: 'set.file-unreadable', severity: 'error', path: formatPath(['sets', name, 'file']),
        message: `cannot read ${set.file}`, hint: 'the path is relative to the site file', file: source.file, ...source.locate(['sets', name, 'file']),
      });
      continue;
    }
    const origin = { path: formatPath(['sets', name, 'elements']), start: set.elements.length, file: set.file, lines: [] as number[] };
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i].indexOf('#');
      const entry = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
      if (!entry) continue;
      origin.lines.push(i + 1);
      set.elements.push(entry);
    }
    source.origins.push(origin);
  }
  return out;
}
