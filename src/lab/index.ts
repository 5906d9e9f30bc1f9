// The lab's entry points for the CLI and tests: plan from a compiled site, bring up, test, down.
import type { CompileResult } from '../pipeline.js';
import { parseChecks } from '../features/lab/checks.js';
import { buildLabPlan, type LabPlan } from './plan.js';
import { labDown, labUp, type Log } from './run.js';
import { formatTable, runCheck, type CheckResult } from './probe.js';
import { probeKernelFeatures } from './features.js';

export function planFor(result: CompileResult): LabPlan {
  if (!result.ok || !result.site) throw new Error('the site has errors');
  return buildLabPlan(result.site, result.nodes.map((n) => n.model), new Map(result.nodes.map((n) => [n.node, n.artifacts])));
}

export function upLab(result: CompileResult, log: Log): { plan: LabPlan; ms: number } {
  const plan = planFor(result);
  const t0 = Date.now();
  labUp(plan, log);
  return { plan, ms: Date.now() - t0 };
}

export function testLab(result: CompileResult, plan: LabPlan): { results: CheckResult[]; table: string; failed: number } {
  const features = probeKernelFeatures();
  const { checks } = parseChecks(result.site!);
  const results = checks.map((c) => runCheck(plan, c, features));
  const failed = results.filter((r) => r.status === 'fail').length;
  const passed = results.filter((r) => r.status === 'pass').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  return { results, table: `${formatTable(results)}\n\nlab: ${passed} passed, ${failed} failed, ${skipped} skipped`, failed };
}

export { labDown };
