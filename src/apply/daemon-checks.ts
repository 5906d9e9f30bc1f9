// Each daemon's own checker on what kairo rendered, before apply changes anything: `kea-dhcp4 -t`,
// `unbound-checkconf`, ... A file the daemon would refuse never reaches the host. The rendered
// files are laid over the live ones in a private mount namespace (./../targets/sandbox.ts), so
// the checker reads the paths it will read on the node, includes and all.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Artifact } from '../render/artifact.js';
import type { Service } from '../features/feature.js';
import type { RunResult } from '../lib/exec.js';
import { sandboxArgv, unitExec } from '../targets/sandbox.js';

/** Debian packages that bring each checker, for the hint. */
const PACKAGES: Record<string, string> = {
  'kea-dhcp4': 'kea-dhcp4-server',
  'kea-dhcp6': 'kea-dhcp6-server',
  'unbound-checkconf': 'unbound',
};

export interface DaemonCheck {
  unit: string;
  argv: string[];
  ok: boolean;
  output: string;
}

/** Services whose checker must run: a file of theirs is new or changed. */
export function servicesToCheck(services: Service[], after: Artifact[], before: Artifact[]): Service[] {
  const old = new Map(before.map((a) => [a.path, a.content]));
  return services.filter((s) => s.check && s.files.some((f) => {
    const now = after.find((a) => a.path === f);
    return now !== undefined && old.get(f) !== now.content;
  }));
}

/**
 * Runs each service's checker on the rendered artifacts; `exec` runs a command where the target
 * is (the host, or a namespace). Returns one result per checked service.
 */
export function runDaemonChecks(services: Service[], artifacts: Artifact[], exec: (cmd: string, args: string[]) => RunResult): DaemonCheck[] {
  if (services.length === 0) return [];
  const root = mkdtempSync(join(existsSync('/run') ? '/run' : tmpdir(), 'kairo-check-'));
  try {
    for (const a of artifacts) {
      const p = join(root, a.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, a.content, { mode: a.mode });
    }
    return services.map((s) => {
      // The unit's own directories exist when its daemon runs (systemd makes them): so in the check.
      const unit = artifacts.find((a) => a.path === `/etc/systemd/system/${s.unit}`);
      const dirs = unit ? unitExec(unit.content) : undefined;
      const argv = sandboxArgv({
        root, devices: s.check!.devices, runtimeDirs: dirs?.runtimeDirs,
        varLib: dirs?.stateDirs.length ? { upper: join(root, '.var-lib'), dirs: dirs.stateDirs } : undefined,
      }, s.check!.argv);
      const r = exec(argv[0], argv.slice(1));
      // The sandbox's shell exits 127 when it cannot find the checker; any other failure is the checker's own word.
      const missing = r.code === 127;
      const pkg = PACKAGES[s.check!.argv[0]];
      const output = missing ? `${s.check!.argv[0]} is not installed${pkg ? ` (apt install ${pkg})` : ''}` : (r.stderr + r.stdout).split('\n').filter((l) => /ERROR|error|fatal|FATAL/.test(l)).join('\n').trim() || (r.stderr + r.stdout).trim();
      return { unit: s.unit, argv: s.check!.argv, ok: r.code === 0, output };
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
