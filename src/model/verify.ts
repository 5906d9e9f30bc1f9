// Semantic checks over a schema-valid site: each feature checks its slice (references, address
// sanity, NAT and rule consistency). Returns every problem at once; models are built only when
// this finds no error.
import type { Site } from '../config/schema.js';
import { originOf, type SourceMap } from '../config/load.js';
import { formatPath, sortDiagnostics, type Diagnostic, type PathSegment, type Severity } from '../config/diagnostics.js';
import { FEATURES } from '../features/index.js';
import type { VerifyContext } from '../features/feature.js';
import { suggestNames } from './checks.js';
import { nodeNames, zoneNames } from './resolve.js';

export function verifySite(site: Site, source?: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (severity: Severity, code: string, path: PathSegment[], message: string, hint?: string, key = false) => {
    const at = source ? originOf(source, path) ?? { file: source.file, ...source.locate(path, key) } : {};
    out.push({ code, severity, path: formatPath(path), message, hint, ...at });
  };
  const declaredZones = site.zones ? Object.keys(site.zones) : undefined;
  const ctx: VerifyContext = {
    site: site as VerifyContext['site'],
    source,
    nodes: nodeNames(site),
    zones: declaredZones ?? zoneNames(site),
    declaredZones,
    error: (code, path, message, hint, key) => add('error', code, path, message, hint, key),
    warn: (code, path, message, hint) => add('warning', code, path, message, hint),
    suggest: suggestNames,
    sliceOf: () => site as never,
  };
  for (const f of FEATURES) f.verify?.(ctx as never);
  return sortDiagnostics(out);
}
