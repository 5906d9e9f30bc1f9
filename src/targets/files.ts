// File operations under a root, shared by every target.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FileState } from './types.js';

export function rooted(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

export function readRooted(root: string, path: string): FileState | undefined {
  const p = rooted(root, path);
  if (!existsSync(p)) return undefined;
  return { content: readFileSync(p, 'utf8'), mode: statSync(p).mode & 0o777 };
}

/** Write to a temporary file in the same directory and rename: readers see the old or the new file, never half. */
export function writeRooted(root: string, path: string, content: string, mode: number): void {
  const p = rooted(root, path);
  mkdirSync(dirname(p), { recursive: true });
  const tmp = `${p}.kairo-tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, p);
}

export function removeRooted(root: string, path: string): void {
  rmSync(rooted(root, path), { force: true });
}
