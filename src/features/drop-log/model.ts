// The drop log on a node: on when the site says so, or by default when a rule or policy that
// drops logs; the entries (id, path, pair) come from the firewall's model, the same function the
// chains use for their prefixes (../firewall/nflog.ts), so the map and the ruleset cannot differ.
import { dropLogEntries, type DropLogEntry, type NflogSpec } from '../firewall/nflog.js';
import type { FirewallModel } from '../firewall/model.js';
import type { DropsConfig } from './schema.js';

export interface DropLogModel {
  spec: NflogSpec;
  entries: DropLogEntry[];
  keep: DropsConfig['keep'];
  pluginDir: string;
}

export function buildDropLogModel(fw: FirewallModel | undefined, d: { cfg: DropsConfig; enabled?: boolean }): DropLogModel | undefined {
  const entries = fw ? dropLogEntries(fw) : [];
  if (d.enabled === false || entries.length === 0) return undefined;
  return { spec: { group: d.cfg.group, rate: d.cfg.rate, burst: d.cfg.burst }, entries, keep: d.cfg.keep, pluginDir: d.cfg['plugin-dir'] };
}
