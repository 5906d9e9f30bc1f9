// Placeholder until the exposure scan lands in the next commit.
import type { CompileResult } from '../pipeline.js';
import type { LabPlan } from './plan.js';
import type { Log } from './run.js';
export function scanLab(_r: CompileResult, _p: LabPlan, _log: Log): { table: string; unexpected: number; missing: number } {
  throw new Error('scan not implemented yet');
}
