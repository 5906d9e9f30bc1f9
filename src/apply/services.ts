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
  /**
   * 'before-files': a unit no capability runs any more is stopped and disabled while its unit file
   * is still there (systemctl cannot disable a unit whose file is gone). 'after-files': the rest,
   * once files, ruleset, interfaces and sysctl are in place.
   */
  phase: 'before-files' | 'after-files';
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
    const why = 'no capability of the site runs it any more';
    if (s.onChange !== 'none') out.push({ verb: 'stop', unit: s.unit, why, phase: 'before-files' });
    out.push({ verb: 'disable', unit: s.unit, why, phase: 'before-files' });
  }
  if ([...changed].some((p) => p.startsWith(UNIT_DIR))) out.push({ verb: 'daemon-reload', unit: '', why: 'unit files changed', phase: 'after-files' });
  const had = new Map(from.services.map((s) => [s.unit, s]));
  const after = (verb: ServiceVerb, unit: string, why: string) => out.push({ verb, unit, why, phase: 'after-files' });
  for (const s of to.services) {
    const old = had.get(s.unit);
    if (s.enabled && !old?.enabled) after('enable', s.unit, old ? 'now enabled' : 'new');
    if (!s.enabled && old?.enabled) after('disable', s.unit, 'no longer enabled');
    if (s.onChange === 'none') continue;
    if (!old) {
      if (s.enabled) after('start', s.unit, 'new');
      continue;
    }
    const touched = s.files.filter((p) => changed.has(p));
    if (touched.length) after(touched.some((p) => s.restartFor?.includes(p)) ? 'restart' : s.onChange, s.unit, `changed: ${touched.join(', ')}`);
  }
  return out;
}

export function formatServiceAction(a: ServiceAction): string {
  return `systemctl ${a.verb}${a.unit ? ` ${a.unit}` : ''} (${a.why})`;
}

/** What systemctl says of a unit now (`is-enabled`, `is-active`). */
export interface LiveUnit {
  enabled: string;
  active: string;
}

/**
 * Units of the target generation that someone disabled or stopped by hand (or that a kairo before
 * 0.2 never enabled) are put right: enabled again, started again. Not those the planned steps
 * enable or start already.
 */
export function repairActions(services: readonly Service[], live: ReadonlyMap<string, LiveUnit>, planned: readonly ServiceAction[]): ServiceAction[] {
  const out: ServiceAction[] = [];
  const has = (verb: ServiceVerb, unit: string) => planned.some((a) => a.unit === unit && a.verb === verb);
  for (const s of services.filter((x) => x.enabled)) {
    const l = live.get(s.unit);
    if (!l) continue;
    if (l.enabled !== 'enabled' && !has('enable', s.unit)) out.push({ verb: 'enable', unit: s.unit, why: `${l.enabled} on the target`, phase: 'after-files' });
    if (s.onChange === 'none' || has('start', s.unit) || has('restart', s.unit)) continue;
    if (l.active === 'inactive') out.push({ verb: 'start', unit: s.unit, why: 'not running on the target', phase: 'after-files' });
    if (l.active === 'failed') out.push({ verb: 'restart', unit: s.unit, why: 'failed on the target', phase: 'after-files' });
  }
  return out;
}
