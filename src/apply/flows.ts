// Connections a removed port forward translated. The kernel keeps a DNAT decision for a
// connection's whole life, so without this a deleted mapping goes on carrying the connections it
// let in (for days, with TCP keepalives). After the ruleset no longer has the forward, exactly its
// conntrack entries are deleted: those translated to its target, on its public port(s), to its
// public address if it named one. Every other flow stays.
import type { Target } from '../targets/types.js';
import { have, type RunResult } from '../lib/exec.js';
import type { ForwardFlows } from '../features/nat/flows.js';

export type { ForwardFlows } from '../features/nat/flows.js';

const key = (f: ForwardFlows) => JSON.stringify([f.label, f.family, f.protos, f.port, f.portEnd, f.destination, f.target, f.targetPort]);

/** Forwards of `from` that `to` no longer has exactly (a changed target counts as removed). */
export function removedForwards(from: readonly ForwardFlows[], to: readonly ForwardFlows[]): ForwardFlows[] {
  const kept = new Set(to.map(key));
  return from.filter((f) => !kept.has(key(f)));
}

export interface Flow {
  proto: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** `conntrack -L` lines: the original tuple, and the reply's source port (the target's port). */
export function parseConntrack(text: string): (Flow & { replySport: number })[] {
  const out: (Flow & { replySport: number })[] = [];
  for (const line of text.split('\n')) {
    const proto = /^(tcp|udp)\s/.exec(line)?.[1];
    if (!proto) continue;
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1]);
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1]);
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((m) => Number(m[1]));
    if (src.length < 2 || sport.length < 2) continue;
    out.push({ proto, src: src[0], dst: dst[0], sport: sport[0], dport: dport[0], replySport: sport[1] });
  }
  return out;
}

/** conntrack in the target's namespace; undefined where there is none (a directory) or no tool. */
let haveConntrack: boolean | undefined;
function conntrack(target: Target, args: string[]): RunResult | undefined {
  haveConntrack ??= have('conntrack');
  if (!target.exec || !haveConntrack) return undefined;
  return target.exec('conntrack', args);
}

/** The connections a forward translated, as the kernel lists them now. */
export function flowsOf(target: Target, f: ForwardFlows): Flow[] | undefined {
  const out: Flow[] = [];
  for (const proto of f.protos) {
    const r = conntrack(target, ['-L', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', proto, '--dst-nat', f.target]);
    if (!r) return undefined;
    for (const e of parseConntrack(r.stdout)) {
      const last = f.portEnd ?? f.port;
      if (e.dport < f.port || e.dport > last) continue;
      if (f.destination && e.dst !== f.destination) continue;
      if (f.targetPort !== undefined && e.replySport !== f.targetPort) continue;
      out.push(e);
    }
  }
  return out;
}

/** Deletes each removed forward's connections; returns what was ended, per forward. */
export function endFlows(target: Target, removed: readonly ForwardFlows[]): { label: string; ended: number }[] | undefined {
  const out: { label: string; ended: number }[] = [];
  for (const f of removed) {
    const flows = flowsOf(target, f);
    if (!flows) return undefined; // no conntrack tool: said by the caller
    for (const e of flows) {
      conntrack(target, ['-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', e.proto, '--orig-src', e.src, '--orig-dst', e.dst, '--orig-port-src', String(e.sport), '--orig-port-dst', String(e.dport)]);
    }
    out.push({ label: f.label, ended: flows.length });
  }
  return out;
}

