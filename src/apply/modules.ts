// Kernel modules the ruleset needs before nft can load it (listed by the features in
// /etc/modules-load.d/kairo.conf, which systemd-modules-load reads at boot): apply and `kairo boot`
// load them first, so the first apply and a boot without systemd-modules-load work too. Best
// effort: a module built into the kernel, or a kernel without module loading, is fine.
import type { Artifact } from '../render/artifact.js';
import type { Target } from '../targets/types.js';
import { MODULES_LOAD_PATH } from '../render/ruleset.js';

export function modulesOf(artifacts: { path: string; content: string }[]): string[] {
  const file = artifacts.find((a) => a.path === MODULES_LOAD_PATH);
  return (file?.content ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && /^[A-Za-z0-9_-]+$/.test(l));
}

export function loadModules(target: Target, artifacts: Artifact[] | { path: string; content: string }[]): void {
  for (const m of modulesOf(artifacts)) target.exec?.('modprobe', ['-q', m]);
}
