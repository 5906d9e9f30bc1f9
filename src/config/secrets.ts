// Resolves the site's secret references (PPPoE passwords, database credentials) through the reader
// the caller passes, so the core stays free of I/O. Each feature says where its secrets are; a
// secret that cannot be read is an error with its path.
import type { Site } from './schema.js';
import type { SourceMap } from './load.js';
import { formatPath, type Diagnostic } from './diagnostics.js';
import { resolveSecret, Secret, type SecretReader } from './secret.js';
import { FEATURES } from '../features/index.js';
import type { AnyFeature } from '../features/feature.js';

export type Secrets = Map<string, Secret>;

/** C0 controls (newline, tab, …), DEL, C1 controls and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function resolveSiteSecrets(site: Site, source: SourceMap, io: SecretReader): { secrets: Secrets; diagnostics: Diagnostic[] } {
  const secrets: Secrets = new Map();
  const diagnostics: Diagnostic[] = [];
  for (const f of FEATURES as readonly AnyFeature[]) {
    for (const { path, ref, refuse } of f.secrets?.(site) ?? []) {
      const r = resolveSecret(ref, io);
      if (r instanceof Secret && refuse && refuse.pattern.test(r.reveal())) {
        // What the daemon cannot carry, said without the value.
        diagnostics.push({ code: 'secret.unusable', severity: 'error', path: formatPath(path), message: `the secret from ${r.source} ${refuse.why}`, hint: `${refuse.hint}; the value is never printed`, file: source.file, ...source.locate(path) });
      } else if (r instanceof Secret && CONTROL.test(r.reveal())) {
        // A daemon's file holds the value as text on a line of its own: a newline in it would
        // write a second line (another pppd option) where the password belongs.
        diagnostics.push({ code: 'secret.control-character', severity: 'error', path: formatPath(path), message: `the secret from ${r.source} holds a line break or another control character`, hint: 'a secret is one line of printable text; a trailing newline in a file is fine (it is dropped). The value is never printed', file: source.file, ...source.locate(path) });
      } else if (r instanceof Secret) secrets.set(formatPath(path), r);
      else diagnostics.push({ code: 'secret.unresolved', severity: 'error', path: formatPath(path), message: r.error, hint: 'set the variable (or create the file) where kairo runs; the value is never printed', file: source.file, ...source.locate(path) });
    }
  }
  return { secrets, diagnostics };
}
