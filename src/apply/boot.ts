// `kairo boot`, run by kairo-boot.service at every start-up before any interface comes up.
//
// 1. If the machine stopped while a generation was not confirmed (a commit-confirm pending, or an
//    apply cut off half-way), its files are replaced by those of the last confirmed generation:
//    networkd files, unit files, scripts, all of them, so networkd (which starts after this unit)
//    reads the confirmed network, and systemd starts the confirmed units. The unconfirmed
//    generation is recorded as reverted, so `kairo status` says what happened.
// 2. The confirmed ruleset is loaded.
// 3. Only then its sysctl file, which turns forwarding on. A ruleset that does not load leaves
//    forwarding off (it is switched off explicitly, in case something else turned it on).
//
// Unit changes at boot: systemd has already planned this boot's jobs from the unit files on disk,
// so after the files are back it is told (daemon-reload), units are enabled or disabled, those
// only the unconfirmed generation ran are stopped and those only the confirmed one runs started,
// without waiting (--no-block: this unit runs before the network, they run after it). Units in
// both generations need nothing more: they have not started yet and will start from the restored
// files.
import { loadModules } from './modules.js';
import type { Target } from '../targets/types.js';
import { NFT_PATH, SYSCTL_PATH } from '../render/ruleset.js';
import { acquireLock } from './lock.js';
import { serviceActions, type ServiceAction } from './services.js';
import { Store } from './store.js';
import { generationState, type GenerationState } from './transaction.js';

export interface BootReport {
  /** The generation the machine runs now (0: nothing of kairo's). */
  generation: number;
  /** The unconfirmed generation whose files were replaced, if any. */
  reverted?: number;
  filesWritten: number;
  filesRemoved: number;
  services: ServiceAction[];
  ruleset: 'loaded' | 'none';
  forwarding: 'from the sysctl file' | 'untouched';
}

export class BootError extends Error {}

const FORWARDING_OFF = ['net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0'];

function bootServiceArgs(a: ServiceAction): string[] | undefined {
  switch (a.verb) {
    case 'daemon-reload':
      return ['daemon-reload'];
    case 'enable':
    case 'disable':
      return [a.verb, a.unit];
    case 'start':
    case 'stop':
      return [a.verb, '--no-block', a.unit];
    default:
      return undefined; // restart/reload: the unit has not started yet in this boot
  }
}

/** Puts the files and units of `to` in place of those of the generations in `onDisk`. */
function restore(target: Target, to: GenerationState, onDisk: GenerationState[], log: (s: string) => void): Pick<BootReport, 'filesWritten' | 'filesRemoved' | 'services'> {
  // The generation whose units systemd knows now: the last one that was being put in place.
  const from = onDisk[onDisk.length - 1];
  const actions = target.systemctl ? serviceActions(from, to) : [];
  const systemd = (phase: ServiceAction['phase']) => {
    for (const a of actions.filter((x) => x.phase === phase)) {
      const args = bootServiceArgs(a);
      if (!args) continue;
      const r = target.systemctl!(args);
      if (r.code !== 0) log(`systemctl ${args.join(' ')}: ${(r.stderr || r.stdout).trim()} (going on)`);
    }
  };
  systemd('before-files');
  let filesWritten = 0;
  let filesRemoved = 0;
  for (const a of to.artifacts) {
    const live = target.readFile(a.path);
    if (live?.content === a.content && live.mode === a.mode) continue;
    target.writeFile(a.path, a.content, a.mode);
    filesWritten++;
  }
  const keep = new Set(to.artifacts.map((a) => a.path));
  for (const path of new Set(onDisk.flatMap((g) => g.artifacts.map((a) => a.path)))) {
    if (keep.has(path) || !target.readFile(path)) continue;
    target.removeFile(path);
    filesRemoved++;
  }
  systemd('after-files');
  return { filesWritten, filesRemoved, services: actions.filter((a) => bootServiceArgs(a)) };
}

export function bootRestore(target: Target, log: (s: string) => void = () => {}): BootReport {
  const release = acquireLock(target.stateDir, 10_000);
  try {
    const store = new Store(target.stateDir);
    const confirmed = store.confirmed();
    const current = store.current();
    const journal = store.journal();
    const pending = store.pending();
    const report: BootReport = { generation: confirmed, filesWritten: 0, filesRemoved: 0, services: [], ruleset: 'none', forwarding: 'untouched' };

    if (journal || current !== confirmed) {
      // What may be on disk: the current generation, or the two ends of an interrupted apply.
      const onDisk = [...new Set(journal ? [journal.from, journal.to] : [current])].filter((n) => n > 0).map((n) => generationState(store, n));
      const to: GenerationState = confirmed ? generationState(store, confirmed) : { artifacts: [], services: [] };
      Object.assign(report, restore(target, to, onDisk, log));
      const unconfirmed = journal?.to ?? current;
      const why = journal ? `an apply (pid ${journal.pid}) was cut off by a restart` : pending ? 'the machine restarted before the commit-confirm' : 'the machine restarted before it was confirmed';
      if (unconfirmed > 0 && unconfirmed !== confirmed) {
        store.setStatus(unconfirmed, journal ? 'failed' : 'reverted', `${why}; generation ${confirmed || '0 (nothing)'} restored at boot`);
        report.reverted = unconfirmed;
      }
      store.setCurrent(confirmed);
      store.clearPending();
      store.clearJournal();
      log(`${why}: generation ${confirmed || '0 (nothing)'} restored (${report.filesWritten} files written, ${report.filesRemoved} removed${report.services.length ? `, ${report.services.length} systemctl steps` : ''})`);
    }

    if (!confirmed) {
      log('no confirmed generation: no ruleset of kairo loaded, forwarding left as it is');
      return report;
    }
    if (!target.exec) return report; // a directory: files only
    const files = new Map(generationState(store, confirmed).artifacts.map((a) => [a.path, a.content]));
    const nft = files.get(NFT_PATH);
    if (nft !== undefined) {
      loadModules(target, [...files].map(([path, content]) => ({ path, content })));
      const r = target.exec!('nft', ['-f', '-'], nft);
      if (r.code !== 0) {
        target.exec!('sysctl', ['-q', '-w', ...FORWARDING_OFF]);
        throw new BootError(`the ruleset of generation ${confirmed} did not load; forwarding is off:\n${r.stderr.trim()}`);
      }
      report.ruleset = 'loaded';
    }
    const sysctl = files.get(SYSCTL_PATH);
    if (sysctl !== undefined) {
      // -e: a per-device key of a device networkd has not created yet (a bridge) cannot be set now
      // and must not stop the others; systemd 252's networkd has no setting for rp_filter.
      const r = target.exec!('sysctl', ['-e', '-q', '-p', '-'], sysctl);
      if (r.code !== 0) log(`sysctl: ${r.stderr.trim()}`);
      report.forwarding = 'from the sysctl file';
    }
    log(`generation ${confirmed}: ruleset ${report.ruleset}, sysctl ${sysctl !== undefined ? 'applied' : 'none'}`);
    return report;
  } finally {
    release();
  }
}
