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

export function resolveSiteSecrets(site: Site, source: SourceMap, io: SecretReader): { secrets: Secrets; diagnostics: Diagnostic[] } {
  const secrets: Secrets = new Map();
  const diagnostics: Diagnostic[] = [];
  for (const f of FEATURES as readonly AnyFeature[]) {
    for (const { path, ref } of f.secrets?.(site) ?? []) {
      const r = resolveSecret(ref, io);
      if (r instanceof Secret) secrets.set(formatPath(path), r);
      else diagnostics.push({ code: 'secret.unresolved', severity: 'error', path: formatPath(path), message: r.error, hint: 'set the variable (or create the file) where kairo runs; the value is never printed', file: source.file, ...source.locate(path) });
    }
  }
  return { secrets, diagnostics };
}
