// Lab bring-up time per example (median of LAB_RUNS, default 3), and whether its checks pass.
// Sites are renamed with a prefix (BENCH_PREFIX, default "nd") so the namespaces never clash
// with a lab or test run by someone else on the same machine. Root only. Figures, not pass/fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../src/pipeline.js';
import { fileReaderBeside } from '../src/config/files.js';
import { labDown, testLab, upLab } from '../src/lab/index.js';

const root = join(import.meta.dirname, '..');
const runs = Number(process.env.LAB_RUNS ?? 3);
const prefix = process.env.BENCH_PREFIX ?? 'nd';
const only = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

for (const f of readdirSync(join(root, 'examples')).filter((x) => x.endsWith('.yaml')).sort()) {
  const name = f.replace(/\.yaml$/, '');
  if (only.length && !only.includes(name)) continue;
  const text = readFileSync(join(root, 'examples', f), 'utf8').replace(/^name: (\S+)/m, (_, n) => `name: ${prefix}${n}`);
  const r = compileSite(text, f, { readFile: fileReaderBeside(join(root, 'examples', f)) });
  const times: number[] = [];
  let checks = '';
  for (let i = 0; i < runs; i++) {
    const { plan, ms } = upLab(r, () => {});
    try {
      times.push(ms);
      if (i === 0) {
        const t = testLab(r, plan);
        checks = t.table.split('\n').pop()!;
      }
    } finally {
      labDown(plan.prefix);
    }
  }
  console.log(`${name.padEnd(24)} up ${String(median(times)).padStart(5)} ms (runs: ${times.join(', ')})  ${checks}`);
}
