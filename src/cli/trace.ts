// `kairo trace`: which rule decides a packet, without a kernel. Exit 0 accept, 3 drop/reject, 1 usage or config errors.
import { normalizeIcmpType } from '../features/firewall/icmp.js';
import { compileFile, summary } from './io.js';
import { protoNames } from '../config/schema.js';
import { parseAddress } from '../lib/ip.js';
import { summaryLine, tracePacket, TraceInputError, type Packet } from '../trace/evaluate.js';

export interface TraceOpts {
  iif?: string;
  from?: string;
  src: string;
  dst: string;
  proto: string;
  sport?: string;
  dport?: string;
  icmpType?: string;
  state?: string;
  node?: string;
  local?: string[];
  json?: boolean;
}

function fail(message: string): never {
  console.error(`kairo trace: ${message}`);
  process.exit(1);
}

function port(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) fail(`${name} '${v}' is not a port in 1-65535`);
  return Number(v);
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function traceCommand(file: string, opts: TraceOpts): void {
  if (!opts.iif === !opts.from) fail('give the input interface as --iif DEVICE or --from ZONE (one of them)');
  const src = parseAddress(opts.src);
  const dst = parseAddress(opts.dst);
  if (!src) fail(`--src '${opts.src}' is not an IPv4 or IPv6 address`);
  if (!dst) fail(`--dst '${opts.dst}' is not an IPv4 or IPv6 address`);
  if (src.family !== dst.family) fail(`--src ${opts.src} is IPv${src.family} but --dst ${opts.dst} is IPv${dst.family}`);
  if (!(protoNames as readonly string[]).includes(opts.proto)) fail(`--proto '${opts.proto}' is not one of ${protoNames.join(', ')}`);

  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) fail(`the site has errors (${summary(result)}); fix them first (kairo validate ${file})`);
  const names = result.nodes.map((n) => n.node).join(', ');
  const node = opts.node ? result.nodes.find((n) => n.node === opts.node) : result.nodes[0];
  if (!node) fail(`no node '${opts.node}' (nodes: ${names})`);
  const model = node.model;

  let iif = opts.iif;
  if (opts.from) {
    const devs = model.zones.get(opts.from);
    if (!devs) fail(`no zone '${opts.from}' (zones: ${[...model.zones.keys()].join(', ')})`);
    if (devs.length === 0) fail(`zone '${opts.from}' has no interface on node ${node.node}`);
    iif = devs[0];
  }

  const pkt: Packet = {
    family: src.family,
    proto: opts.proto,
    src: opts.src,
    dst: opts.dst,
    sport: port('--sport', opts.sport),
    dport: port('--dport', opts.dport),
    // A number is written as the type's name where it has one, as the ruleset does.
    icmpType: opts.icmpType !== undefined && (opts.proto === 'icmp' || opts.proto === 'icmpv6') ? normalizeIcmpType(opts.proto, opts.icmpType) ?? opts.icmpType : opts.icmpType,
    iif: iif!,
    state: (opts.state ?? 'new') as Packet['state'],
  };
  let res;
  try {
    res = tracePacket(model, pkt, { localAddresses: opts.local });
  } catch (e) {
    if (e instanceof TraceInputError) fail(e.message);
    throw e;
  }
  if (opts.json) {
    console.log(JSON.stringify({ node: node.node, packet: pkt, ...res }, null, 2));
  } else {
    if (result.nodes.length > 1) console.log(`node ${node.node}${opts.node ? '' : ` (first of ${names}; choose with --node)`}`);
    console.log(`packet: ${pkt.proto} ${pkt.src}${pkt.sport ? `:${pkt.sport}` : ''} → ${pkt.dst}${pkt.dport ? `:${pkt.dport}` : ''}${pkt.icmpType ? ` ${pkt.icmpType}` : ''} in ${pkt.iif}, ct state ${pkt.state}`);
    for (const s of res.steps) console.log(`  ${s.table} ${s.chain}: ${s.text}${s.verdict ? `  [${s.verdict}]` : ''}`);
    console.log(summaryLine(res, pkt));
  }
  // exitCode rather than exit(): lets a long --json trace drain into a pipe first.
  process.exitCode = res.verdict === 'accept' ? 0 : 3;
}
