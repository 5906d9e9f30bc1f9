// `kairo flows`: the local collector's records (nfcapd's files), read with nfdump on the host
// or, for a lab router, in the lab's state directory where its nfcapd writes /var/lib.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { have, run } from '../lib/exec.js';
import { NetnsTarget } from '../targets/index.js';
import { STATE_ROOT, labVarLib } from '../lab/run.js';
import { FLOWS_DIR } from '../features/flows/render.js';
import { checkQuery, formatFlows, nfdumpArgv, parseNfdumpJson, selectFlows, talkers, type FlowQuery } from '../features/flows/query.js';
import { resolveTarget } from './apply.js';

interface FlowsOpts {
  target?: string;
  top?: string;
  host?: string;
  port?: string;
  since?: string;
  talkers?: boolean;
  json?: boolean;
}

function fail(msg: string): never {
  console.error(`kairo flows: ${msg}`);
  process.exit(1);
}

/** The collector's directory as this machine sees it. */
export function flowsDirFor(spec: string): string {
  if (spec === 'host') return FLOWS_DIR;
  const t = resolveTarget(spec);
  // A lab router's daemons write /var/lib into an overlay's upper layer in the lab's state directory.
  if (t instanceof NetnsTarget && t.root.startsWith(`${STATE_ROOT}/`)) return join(labVarLib(t.root), 'upper', FLOWS_DIR.replace(/^\/var\/lib\//, ''));
  fail(`${spec}: flows are read on the host or on a lab router (--target lab:NODE)`);
}

/** `10m`, `2h`, `1d`, `90s` as seconds. */
function sinceSeconds(s: string): number {
  const m = /^(\d+)([smhd])$/.exec(s);
  if (!m) fail(`--since ${s}: give a time such as 90s, 10m, 2h or 1d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's']!;
}

export function flowsCommand(opts: FlowsOpts): void {
  const q: FlowQuery = {
    top: opts.top === undefined ? 20 : Number(opts.top),
    host: opts.host, port: opts.port === undefined ? undefined : Number(opts.port),
    since: opts.since === undefined ? undefined : sinceSeconds(opts.since),
  };
  const bad = checkQuery(q);
  if (bad) fail(bad);
  if (!have('nfdump')) fail('nfdump is not installed (apt install nfdump)');
  const spec = opts.target ?? 'host';
  const dir = flowsDirFor(spec);
  if (!existsSync(dir)) fail(`${spec} has no flow collector's files (${dir}): the site needs flows: { local: true } and kairo-nfcapd must have run`);
  const argv = nfdumpArgv(dir, q);
  const r = run(argv[0], argv.slice(1), { timeoutMs: 120_000 });
  if (r.code !== 0) fail(`nfdump failed: ${(r.stderr || r.stdout).trim()}`);
  // The window applies to the merged rows, so a connection's records count together.
  const rows = selectFlows(parseNfdumpJson(r.stdout), { ...q, top: Number.MAX_SAFE_INTEGER }, Date.now());
  if (opts.talkers) {
    const t = talkers(rows, q.top);
    if (opts.json) return void console.log(JSON.stringify({ target: spec, talkers: t }, null, 2));
    return void console.log(t.length ? t.map((x) => `${x.host.padEnd(39)} ${String(x.bytes).padStart(12)} bytes ${String(x.packets).padStart(9)} packets ${String(x.flows).padStart(6)} flows`).join('\n') : formatFlows([]));
  }
  const top = rows.slice(0, q.top);
  if (opts.json) return void console.log(JSON.stringify({ target: spec, flows: top }, null, 2));
  console.log(formatFlows(top));
}
