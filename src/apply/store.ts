// Generations on disk, under the target's state directory:
//   generations/N/manifest.json   what generation N is (files, reload kinds, status, kernel listing)
//   generations/N/contents.json    every artifact's content exactly as applied (mode 0600: secrets)
//   generations/N/files/...        the ruleset and sysctl files, for the boot unit
//   current                        the live generation number
//   confirmed -> generations/N/files   the last confirmed generation (the boot unit loads from it)
//   journal.json                   present only while a transaction runs (crash recovery)
//   pending.json                   present while a commit-confirm waits
//   lock                           the pid holding the lock
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../render/artifact.js';
import type { Service } from '../features/feature.js';
import type { ForwardFlows } from './flows.js';

export type GenerationStatus = 'applying' | 'applied' | 'pending' | 'confirmed' | 'failed' | 'reverted';

export interface Manifest {
  generation: number;
  created: string;
  site: string;
  node: string;
  status: GenerationStatus;
  files: { path: string; mode: number; owner: string; reload: Artifact['reload']; sensitive?: boolean }[];
  /** Live sysctl values before this generation was applied, for keys it sets: restored when it is undone. */
  sysctlBefore: Record<string, string | null>;
  /** `nft list` of kairo's tables right after apply (counters stripped): drift detection. */
  nftListing?: string;
  /** The units the generation's files install (absent in generations of kairo before 0.2). */
  services?: Service[];
  /** Its port forwards by identity (absent in generations of kairo before 0.2). */
  forwards?: ForwardFlows[];
  note?: string;
}

export interface Journal {
  from: number;
  to: number;
  pid: number;
  started: string;
}

export interface Pending {
  generation: number;
  previous: number;
  deadline: number;
  target: string;
  watchdogPid?: number;
}

export class Store {
  constructor(readonly dir: string) {}

  private p(...parts: string[]) {
    return join(this.dir, ...parts);
  }
  private readJson<T>(...parts: string[]): T | undefined {
    const f = this.p(...parts);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : undefined;
  }
  private writeJson(value: unknown, ...parts: string[]) {
    mkdirSync(this.dir, { recursive: true });
    const f = this.p(...parts);
    writeFileSync(`${f}.tmp`, JSON.stringify(value, null, 2));
    renameSync(`${f}.tmp`, f);
  }

  generations(): number[] {
    const d = this.p('generations');
    return existsSync(d) ? readdirSync(d).map(Number).filter((n) => n > 0).sort((a, b) => a - b) : [];
  }
  current(): number {
    const f = this.p('current');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : 0;
  }
  setCurrent(n: number) {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.p('current.tmp'), `${n}\n`);
    renameSync(this.p('current.tmp'), this.p('current'));
  }
  confirmed(): number {
    const m = /generations\/(\d+)\/files$/.exec(this.readLink('confirmed') ?? '');
    return m ? Number(m[1]) : 0;
  }
  private readLink(name: string): string | undefined {
    try {
      return readlinkSync(this.p(name));
    } catch {
      return undefined;
    }
  }
  /** Points `confirmed` at generation n, atomically (a new symlink renamed over the old one). */
  setConfirmed(n: number) {
    const rel = `generations/${n}/files`;
    const tmp = this.p(`confirmed.tmp-${process.pid}`);
    rmSync(tmp, { force: true });
    symlinkSync(rel, tmp);
    renameSync(tmp, this.p('confirmed'));
  }

  manifest(n: number): Manifest | undefined {
    return this.readJson<Manifest>('generations', String(n), 'manifest.json');
  }
  saveManifest(m: Manifest) {
    mkdirSync(this.p('generations', String(m.generation)), { recursive: true });
    this.writeJson(m, 'generations', String(m.generation), 'manifest.json');
  }
  artifacts(n: number): Artifact[] {
    const m = this.manifest(n);
    if (!m) return [];
    const contents = JSON.parse(readFileSync(this.p('generations', String(n), 'contents.json'), 'utf8')) as Record<string, string>;
    return m.files.map((f) => ({ ...f, content: contents[f.path] }));
  }
  /** A new generation: its files and manifest, status 'applying'. */
  create(artifacts: Artifact[], meta: Omit<Manifest, 'generation' | 'files' | 'status' | 'created'>): Manifest {
    const n = Math.max(0, ...this.generations()) + 1;
    // Every file's content in one write (a site with 1 000 routed hosts renders 3 000 guest
    // snippets); the ruleset and sysctl also as files, which the boot unit loads from `confirmed`.
    mkdirSync(this.p('generations', String(n)), { recursive: true });
    writeFileSync(this.p('generations', String(n), 'contents.json'), JSON.stringify(Object.fromEntries(artifacts.map((a) => [a.path, a.content]))), { mode: 0o600 });
    for (const a of artifacts.filter((x) => x.reload === 'nftables' || x.reload === 'sysctl')) {
      const f = this.p('generations', String(n), 'files', a.path);
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, a.content, { mode: a.mode });
    }
    const m: Manifest = {
      generation: n,
      created: new Date().toISOString(),
      status: 'applying',
      files: artifacts.map((a) => ({ path: a.path, mode: a.mode, owner: a.owner, reload: a.reload, ...(a.sensitive ? { sensitive: true } : {}) })),
      ...meta,
    };
    this.saveManifest(m);
    return m;
  }
  setStatus(n: number, status: GenerationStatus, note?: string) {
    const m = this.manifest(n);
    if (m) this.saveManifest({ ...m, status, ...(note ? { note } : {}) });
  }

  journal(): Journal | undefined {
    return this.readJson<Journal>('journal.json');
  }
  setJournal(j: Journal) {
    this.writeJson(j, 'journal.json');
  }
  clearJournal() {
    rmSync(this.p('journal.json'), { force: true });
  }

  pending(): Pending | undefined {
    return this.readJson<Pending>('pending.json');
  }
  setPending(p: Pending) {
    this.writeJson(p, 'pending.json');
  }
  clearPending() {
    rmSync(this.p('pending.json'), { force: true });
  }
}
