// Reading files a site refers to (set lists, secret files) relative to the site file's directory.
// I/O, so it lives at the edge: the CLI, the lab and tests pass it to the pure compileSite().
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

export function fileReaderBeside(siteFile: string): (path: string) => string | undefined {
  const base = dirname(siteFile);
  return (p) => {
    try {
      return readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8');
    } catch {
      return undefined;
    }
  };
}
