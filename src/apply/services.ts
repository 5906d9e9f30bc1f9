// What systemd must do when a node goes from one generation to another: the units kairo installs
// are enabled (and started), those whose files changed are reloaded or restarted as their feature
// says, those no capability runs any more are stopped and disabled. Pure: the same function gives
// the forward steps and, with its arguments swapped, the steps of a revert.
import type { Service } from '../features/feature.js';
import type { Artifact } from '../render/artifact.js';

export type ServiceVerb = 'daemon-reload' | 'enable' | 'start' | 'restart' | 'reload' | 'reload-or-restart' | 'stop' | 'disable';

export interface ServiceAction {
  verb: ServiceVerb;
  /** Empty for daemon-reload. */
  unit: string;
  why: string;
}

export interface ServiceState {
  services: readonly Service[];
  artifacts: readonly Artifact[];
}

const UNIT_DIR = '/etc/systemd/system/';

function changedPaths(from: readonly Artifact[], to: readonly Artifact[]): Set<string> {
  const before = new Map(from.map((a) => [a.path, a]));
  const out = new Set<string>();
  for (const a of to) {
    const b = before.get(a.path);
    if (!b || b.content !== a.content || b.mode !== a.mode) out.add(a.path);
  }
  for (const b of from) if (!to.some((a) => a.path === b.path)) out.add(b.path);
  return out;
}

/**
 * The systemctl steps from `from` to `to`, in order: stop and disable what goes (reverse order of
 * its dependencies), daemon-reload when a unit file changed, then for what stays or comes, in
 * dependency order (the services are listed that way): enable what is newly enabled, start what is
 * new, reload or restart what changed. A unit whose `onChange` is 'none' (kairo-boot) is only
 * enabled: it acts at boot.
 */
export function serviceActions(from: ServiceState, to: ServiceState): ServiceAction[] {
  const changed = changedPaths(from.artifacts, to.artifacts);
  const out: ServiceAction[] = [];
  const wanted = new Map(to.services.map((s) => [s.unit, s]));
  for (const s of [...from.services].reverse()) {
    if (wanted.has(s.unit)) continue;
    if (s.onChange !== 'none') out.push({ verb: 'stop', unit: s.unit, why: 'no capability of the site runs it any more' });
    out.push({ verb: 'disable', unit: s.unit, why: 'no capability of the site runs it any more' });
  }
  if ([...changed].some((p) => p.startsWith(UNIT_DIR))) out.push({ verb: 'daemon-reload', unit: '', why: 'unit files changed' });
  const had = new Map(from.services.map((s) => [s.unit, s]));
  for (const s of to.services) {
    const old = had.get(s.unit);
    if (s.enabled && !old?.enabled) out.push({ verb: 'enable', unit: s.unit, why: old ? 'now enabled' : 'new' });
    if (!s.enabled && old?.enabled) out.push({ verb: 'disable', unit: s.unit, why: 'no longer enabled' });
    if (s.onChange === 'none') continue;
    if (!old) {
      if (s.enabled) out.push({ verb: 'start', unit: s.unit, why: 'new' });
      continue;
    }
    const touched = s.files.filter((p) => changed.has(p));
    if (touched.length) out.push({ verb: s.onChange, unit: s.unit, why: `changed: ${touched.join(', ')}` });
  }
  return out;
}

export function formatServiceAction(a: ServiceAction): string {
  return a.verb === 'daemon-reload' ? `systemctl daemon-reload (${a.why})` : `${a.verb} ${a.unit} (${a.why})`;
}
