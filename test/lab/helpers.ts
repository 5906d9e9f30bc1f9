// Shared by the lab tests: compile an example (optionally edited), and look for leftovers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite, type CompileResult } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { have, isRoot, run } from '../../src/lib/exec.js';
import { networkdUnavailable } from '../../src/lab/networkd-real.js';

export const root = join(import.meta.dirname, '..', '..');

export function labSkip(): string | false {
  if (!isRoot()) return 'skipped: the lab needs root (network namespaces)';
  for (const cmd of ['nft', 'ip', 'dnsmasq', 'radvd', 'ping', 'ss']) if (!have(cmd)) return `skipped: ${cmd} is not installed (scripts/setup.sh installs it)`;
  const nd = networkdUnavailable(); // every lab router runs systemd-networkd
  return nd ? `skipped: ${nd}` : false;
}

export function exampleText(name: string, edit: (text: string) => string = (t) => t): string {
  return edit(readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8'));
}

export function example(name: string, edit: (text: string) => string = (t) => t): CompileResult {
  const r = compileSite(exampleText(name, edit), `${name}.yaml`, { readFile: fileReaderBeside(join(root, 'examples', `${name}.yaml`)) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.path}: ${d.message}`).join('\n'));
  return r;
}

export function namespacesWith(prefix: string): string[] {
  return run('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
}

/** Processes whose network namespace is a lab namespace that no longer has a name (leaked). */
export function processesOf(pattern: RegExp): string[] {
  return run('ps', ['-eo', 'pid,args']).stdout.split('\n').filter((l) => pattern.test(l) && !l.includes('ps -eo'));
}
