// `kairo logs drops`: the drop log of a target (host, a lab router) with each line's rule.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { DROP_LOG, DROP_LOG_MAP } from '../features/drop-log/index.js';
import { formatDrop, parseDropLine, parseMap, type DropRecord } from '../features/drop-log/read.js';
import { resolveTarget } from './apply.js';

interface LogsOpts {
  target?: string;
  follow?: boolean;
  since?: string;
  json?: boolean;
}

/** `10m`, `2h`, `30s`, `1d` ago, or a date. */
function sinceSeconds(s: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (m) return Date.now() / 1000 - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's']!;
  const t = Date.parse(s);
  if (Number.isNaN(t)) {
    console.error(`kairo: --since ${s}: use a duration (10m, 2h, 1d) or a date (2026-01-31T12:00)`);
    process.exit(1);
  }
  return t / 1000;
}

export function logsDropsCommand(opts: LogsOpts): void {
  const target = resolveTarget(opts.target ?? 'host');
  const file = target.hostPath(DROP_LOG);
  const map = parseMap(target.readFile(DROP_LOG_MAP)?.content);
  const since = opts.since ? sinceSeconds(opts.since) : 0;
  const show = (r: DropRecord | undefined) => {
    if (!r || r.time < since) return;
    console.log(opts.json ? JSON.stringify(r) : formatDrop(r));
  };
  if (!existsSync(file) && !opts.follow) {
    console.error(`kairo: ${target.spec}: no drop log (${DROP_LOG}): the site logs no drops (firewall log:), or kairo-ulogd has not written yet`);
    process.exit(1);
  }
  let offset = 0;
  let rest = '';
  const readNew = () => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < offset) offset = 0; // rotated (copytruncate): read the fresh file from its start
    if (size === offset) return;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    const lines = (rest + buf.toString('utf8')).split('\n');
    rest = lines.pop() ?? ''; // a line ulogd is still writing waits for its end
    for (const l of lines) if (l.trim()) show(parseDropLine(l, map));
  };
  if (!opts.follow) {
    for (const l of readFileSync(file, 'utf8').split('\n')) if (l.trim()) show(parseDropLine(l, map));
    return;
  }
  readNew();
  setInterval(readNew, 500);
}
