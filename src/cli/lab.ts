// `kairo lab up|test|down|scan|run FILE`: the site in network namespaces with real traffic.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFile, summary } from './io.js';
import { labDown, planFor, testLab, upLab } from '../lab/index.js';
import { LabError, labDownAll, labIsUp, stateDir } from '../lab/run.js';
import { isRoot } from '../lib/exec.js';
import type { LabPlan } from '../lab/plan.js';
import { scanLab } from '../lab/scan.js';

const step = (s: string) => console.log(`lab: ${s}`);

function compiled(file: string) {
  if (!isRoot()) {
    console.error('kairo lab: needs root (network namespaces)');
    process.exit(1);
  }
  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) {
    console.error(summary(result));
    process.exit(1);
  }
  return result;
}

/** The plan of the site's lab if it is running (the one saved at up, with live details such as PD addresses). */
function runningPlan(result: ReturnType<typeof compiled>): LabPlan | undefined {
  const plan = planFor(result);
  if (!labIsUp(plan.prefix)) return undefined;
  return JSON.parse(readFileSync(join(stateDir(plan.prefix), 'plan.json'), 'utf8')) as LabPlan;
}

export function labUpCommand(file: string): void {
  try {
    const { ms } = upLab(compiled(file), step);
    step(`ready in ${ms} ms`);
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    console.error(`kairo lab: ${e.message}`);
    process.exitCode = 1;
  }
}

export function labDownCommand(file: string | undefined, opts: { all?: boolean }): void {
  if (opts.all) {
    const gone = labDownAll();
    step(`removed ${gone.length} namespaces${gone.length ? `: ${gone.join(' ')}` : ''}`);
    return;
  }
  if (!file) {
    console.error('kairo lab down: give the site file, or --all');
    process.exit(1);
  }
  const gone = labDown(planFor(compiled(file)).prefix);
  step(`removed ${gone.length} namespaces`);
}

/** Runs `fn` against the site's running lab; without one, brings it up for the command and tears it down after. */
function withLab(file: string, fn: (result: ReturnType<typeof compiled>, plan: LabPlan) => void): void {
  const result = compiled(file);
  let plan = runningPlan(result);
  const own = !plan;
  try {
    if (!plan) plan = upLab(result, step).plan;
    fn(result, plan);
  } catch (e) {
    if (e instanceof LabError) {
      console.error(`kairo lab: ${e.message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  } finally {
    if (own && plan) labDown(plan.prefix);
  }
}

export function labTestCommand(file: string): void {
  withLab(file, (result, plan) => {
    const t = testLab(result, plan);
    console.log(t.table);
    process.exitCode = t.failed > 0 ? 1 : 0;
  });
}

export function labRunCommand(file: string): void {
  const result = compiled(file);
  let plan: LabPlan | undefined;
  try {
    const up = upLab(result, step);
    plan = up.plan;
    step(`ready in ${up.ms} ms; running ${result.site!.lab?.checks?.length ?? 0} checks`);
    const t = testLab(result, plan);
    console.log(t.table);
    process.exitCode = t.failed > 0 ? 1 : 0;
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    console.error(`kairo lab: ${e.message}`);
    process.exitCode = 1;
  } finally {
    if (plan) {
      labDown(plan.prefix);
      step('down: namespaces and processes removed');
    }
  }
}

export function labScanCommand(file: string): void {
  withLab(file, (result, plan) => {
    const s = scanLab(result, plan, step);
    console.log(s.table);
    process.exitCode = s.unexpected > 0 || s.missing > 0 ? 1 : 0;
  });
}
