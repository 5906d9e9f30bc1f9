// Running system commands (edges only: lab, targets, tests). Never through a shell, so names and
// addresses from a site file cannot inject anything.
import { spawnSync } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  netns?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const [c, a] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 256 * 1024 * 1024,
    env: opts.env ?? process.env,
  });
  return { code: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
}

/** Like run, but a non-zero exit throws with the command and its stderr. */
export function must(cmd: string, args: string[], opts: RunOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) {
    const where = opts.netns ? ` (in ${opts.netns})` : '';
    throw new Error(`${cmd} ${args.join(' ')}${where} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

export function have(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).code === 0;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
