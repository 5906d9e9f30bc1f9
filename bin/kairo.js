#!/usr/bin/env node
// Which code runs, decided here and nowhere else:
// - An installed package (`npm install -g` of the tarball `npm pack` makes) has dist/ and no src/:
//   it runs the compiled dist/ with plain node. tsx is a devDependency and is not installed.
// - A git checkout has src/. It runs dist/ only when `npm run build` finished one (dist/.built)
//   and nothing under src/ changed since (by modification time, as make decides); otherwise it
//   runs the sources through tsx. So a developer never runs a stale build after an edit, a pull
//   or a branch switch, and needs no build step at all.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src', 'cli', 'main.ts');
const stamp = join(root, 'dist', '.built');

/** Newest modification time of a folder, its files and subfolders (a deleted file changes its folder's). */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const checkout = existsSync(sources);
const built = existsSync(compiled) && (!checkout || (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(join(root, 'src'))));
if (built) {
  await import(pathToFileURL(compiled).href);
} else if (!checkout) {
  console.error(`kairo: ${compiled} is missing: this package was not built (npm pack builds it; in a checkout, npm run build)`);
  process.exit(1);
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error(`kairo: running the sources needs tsx (npm install in ${root}), or build them first (npm run build)`);
    process.exit(1);
  }
  tsx.register();
  await import(pathToFileURL(sources).href);
}
